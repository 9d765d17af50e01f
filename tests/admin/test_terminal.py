"""Interactive logins reach the person through the ``Terminal`` the command layer lends the
pipeline; below the commands nothing talks to the terminal by itself."""

from __future__ import annotations

import pytest

from reconciler.commands.reconcile_common import terminal
from reconciler.config import ConnectionFlags, Settings
from reconciler.errors import AuthError
from reconciler.pipeline import Terminal, connected
from tests.admin.standins import AdminStandIn, OAuthServer

DEVICE_FLOW = {
    "FLYTE_CREDENTIALS_AUTH_MODE": "DeviceFlow",
    "FLYTE_CREDENTIALS_CLIENT_ID": "flytectl",
}


@pytest.fixture
def secured(admin: AdminStandIn, oauth: OAuthServer) -> AdminStandIn:
    admin.behaviour.oauth_url = oauth.url
    admin.behaviour.require_tokens = oauth.state.valid_tokens
    oauth.state.device_polls_before_approval = 0  # the person approves at once
    return admin


def test_a_device_login_tells_the_terminal_it_was_lent(secured: AdminStandIn) -> None:
    told: list[str] = []
    flags = ConnectionFlags(secured.endpoint, True)
    person = Terminal(say=told.append, interactive=True)
    with connected(Settings(), flags, DEVICE_FLOW, terminal=person) as (client, _):
        assert client.get_version() == "v1.16.8-standin"
    assert told == [
        "To log in to Flyte, open http://127.0.0.1/activate and enter the code ABCD-EFGH"
    ]


def test_without_a_terminal_lent_an_interactive_login_is_refused(secured: AdminStandIn) -> None:
    flags = ConnectionFlags(secured.endpoint, True)
    with (
        pytest.raises(AuthError, match="needs a person at a terminal"),
        connected(Settings(), flags, DEVICE_FLOW),
    ):
        pass


def test_the_commands_terminal_speaks_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    terminal().say("settings file: none")
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "settings file: none\n")
