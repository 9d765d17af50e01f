"""Every auth mode end to end: a real OAuth2 server and a token-checking Admin, both on
loopback."""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

import pytest

from reconciler.admin.auth import Token, TokenCache
from reconciler.admin.client import AdminClient
from reconciler.config import Connection, Secret
from reconciler.errors import AuthError, Unauthenticated
from tests.admin.standins import AdminStandIn, OAuthServer


@pytest.fixture
def secured(admin: AdminStandIn, oauth: OAuthServer) -> AdminStandIn:
    admin.behaviour.oauth_url = oauth.url
    admin.behaviour.require_tokens = oauth.state.valid_tokens  # the same set, kept in sync
    return admin


def _connection(admin: AdminStandIn, **fields) -> Connection:  # type: ignore[no-untyped-def]
    return Connection(endpoint=admin.endpoint, insecure=True, **fields)


def test_client_secret_gets_a_token_from_the_advertised_endpoint(
    secured: AdminStandIn, oauth: OAuthServer
) -> None:
    connection = _connection(
        secured,
        auth_type="ClientSecret",
        client_id="reconciler",
        client_secret=Secret("s3cr3t"),
        scopes=("all",),
    )
    with AdminClient(connection, interactive=False) as client:
        assert client.get_version() == "v1.16.8-standin"
        assert client.get_version() == "v1.16.8-standin"
    token_requests = [r for r in oauth.state.requests if r["path"] == "/oauth2/token"]
    assert len(token_requests) == 1  # cached between calls
    assert token_requests[0]["grant_type"] == "client_credentials"
    assert token_requests[0]["scope"] == "all"


def test_token_is_refreshed_once_when_admin_refuses_it(
    secured: AdminStandIn, oauth: OAuthServer
) -> None:
    connection = _connection(
        secured, auth_type="ClientSecret", client_id="reconciler", client_secret=Secret("s3cr3t")
    )
    with AdminClient(connection, interactive=False) as client:
        client.get_version()
        oauth.state.valid_tokens.clear()  # Admin now refuses the cached token
        assert client.get_version() == "v1.16.8-standin"
    assert oauth.state.issued == 2
    assert secured.behaviour.calls["GetVersion"] == 2


def test_a_token_refused_after_refresh_is_unauthenticated(
    secured: AdminStandIn, oauth: OAuthServer
) -> None:
    connection = _connection(
        secured, auth_type="ClientSecret", client_id="reconciler", client_secret=Secret("s3cr3t")
    )
    secured.behaviour.require_tokens = {"nothing-valid"}
    with AdminClient(connection, interactive=False) as client, pytest.raises(Unauthenticated):
        client.get_version()
    assert oauth.state.issued == 2  # first token, then one refresh, then give up


def test_wrong_client_secret_is_an_auth_error_without_the_secret(secured: AdminStandIn) -> None:
    connection = _connection(
        secured, auth_type="ClientSecret", client_id="reconciler", client_secret=Secret("wrong-pw")
    )
    with AdminClient(connection, interactive=False) as client, pytest.raises(AuthError) as raised:
        client.get_version()
    assert "invalid_client" in str(raised.value)
    assert "wrong-pw" not in str(raised.value)


def test_client_secret_needs_a_secret(secured: AdminStandIn) -> None:
    connection = _connection(secured, auth_type="ClientSecret", client_id="reconciler")
    with pytest.raises(AuthError, match="needs a client id and a secret"):
        AdminClient(connection, interactive=False)


def test_external_command_prints_the_token(secured: AdminStandIn, tmp_path: Path) -> None:
    secured.behaviour.require_tokens = {"from-command"}
    script = tmp_path / "token.py"
    script.write_text("print('from-command')\n")
    connection = _connection(
        secured, auth_type="ExternalCommand", command=(sys.executable, str(script))
    )
    with AdminClient(connection, interactive=False) as client:
        assert client.get_version() == "v1.16.8-standin"
    assert secured.behaviour.seen_tokens == ["from-command"]


def test_failing_external_command_shows_stderr_not_stdout(
    secured: AdminStandIn, tmp_path: Path
) -> None:
    script = tmp_path / "token.py"
    script.write_text(
        "import sys\nprint('partial-token')\nprint('vault sealed', file=sys.stderr)\nsys.exit(3)\n"
    )
    connection = _connection(
        secured, auth_type="ExternalCommand", command=(sys.executable, str(script))
    )
    with AdminClient(connection, interactive=False) as client, pytest.raises(AuthError) as raised:
        client.get_version()
    assert "vault sealed" in str(raised.value)
    assert "partial-token" not in str(raised.value)


def _follow_redirects(url: str) -> None:
    """Plays the person's browser: the authorization server approves and redirects to our
    loopback redirect URI."""
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200


def test_pkce_receives_the_code_on_the_redirect_uri_and_exchanges_it(
    secured: AdminStandIn, oauth: OAuthServer, unused_port: int
) -> None:
    secured.behaviour.redirect_uri = f"http://127.0.0.1:{unused_port}/callback"
    connection = _connection(secured, auth_type="Pkce")
    opened: list[str] = []

    def browser(url: str) -> None:
        opened.append(url)
        _follow_redirects(url)

    from reconciler.admin import auth

    client = AdminClient(connection, interactive=True)
    # the browser is the only thing replaced: everything else is the real flow
    source = auth.Pkce(client._auth_metadata(), "flytectl", ("all",), open_url=browser, timeout=10)
    cache = TokenCache(source)
    assert cache.get().startswith("tok-")
    assert "code_challenge_method=S256" in opened[0]
    exchange = [r for r in oauth.state.requests if r.get("grant_type") == "authorization_code"]
    assert exchange
    assert exchange[0]["code_verifier"]
    client.close()


def test_pkce_end_to_end_through_the_client(
    secured: AdminStandIn, oauth: OAuthServer, unused_port: int
) -> None:
    secured.behaviour.redirect_uri = f"http://127.0.0.1:{unused_port}/callback"
    told: list[str] = []
    connection = _connection(secured, auth_type="Pkce")
    with AdminClient(
        connection, interactive=True, open_url=_follow_redirects, notify=told.append
    ) as client:
        assert client.get_version() == "v1.16.8-standin"
    assert oauth.state.issued == 1
    assert told[0].startswith("Opening a browser to log in to Flyte; if none opens, visit http")


def test_device_flow_polls_until_the_person_approves(
    secured: AdminStandIn, oauth: OAuthServer
) -> None:
    messages: list[str] = []
    connection = _connection(secured, auth_type="DeviceFlow")
    with AdminClient(connection, interactive=True, notify=messages.append) as client:
        from reconciler.admin import auth

        # no real waiting between polls
        source = auth.DeviceFlow(
            client._auth_metadata(),
            "flytectl",
            ("all",),
            notify=messages.append,
            sleep=lambda s: None,
        )
        assert TokenCache(source).get().startswith("tok-")
    assert messages == [
        "To log in to Flyte, open http://127.0.0.1/activate and enter the code ABCD-EFGH"
    ]
    assert oauth.state.device_polls == 3


@pytest.mark.parametrize("kind", ["Pkce", "DeviceFlow"])
def test_interactive_modes_refuse_to_run_without_a_terminal(
    secured: AdminStandIn, kind: str
) -> None:
    with pytest.raises(AuthError, match="needs a person at a terminal"):
        AdminClient(_connection(secured, auth_type=kind), interactive=False)


def test_tokens_are_never_in_reprs() -> None:
    token = Token("very-secret-token", None, "refresh-secret")
    cache = TokenCache(type("S", (), {"fetch": lambda self, r: token})())
    assert cache.get() == "very-secret-token"
    for text in (repr(token), str(token), repr(cache), repr(Secret("very-secret-token"))):
        assert "secret-token" not in text


def test_expired_tokens_are_fetched_again() -> None:
    now = [0.0]
    issued: list[int] = []

    class Source:
        def fetch(self, refresh_token: str | None) -> Token:
            issued.append(1)
            return Token(f"t{len(issued)}", expires_at=now[0] + 100)

    cache = TokenCache(Source(), clock=lambda: now[0])
    assert cache.get() == "t1"
    now[0] = 50
    assert cache.get() == "t1"
    now[0] = 80  # within 30 s of expiry
    assert cache.get() == "t2"
