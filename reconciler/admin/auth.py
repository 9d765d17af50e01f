"""Access tokens for Admin, as flytekit and flytectl obtain them, and the interceptor that
sends them.

Auth types (``admin.authType``):

- ``ClientSecret``: OAuth2 client credentials against the token endpoint Admin advertises
  (``AuthMetadataService.GetOAuth2Metadata``), client id and secret from the configuration.
- ``ExternalCommand``: a command that prints a token (``admin.command``).
- ``Pkce``: authorization code with PKCE; opens a browser and receives the code on the redirect
  URI Admin advertises (``GetPublicClientConfig``). Needs a person at a terminal.
- ``DeviceFlow``: the user opens a URL and types a code; we poll the token endpoint. Needs a
  person at a terminal.

Tokens live in memory only, are fetched on the first call that needs one, and are fetched again
when Admin answers ``UNAUTHENTICATED`` (once per call). They are never logged or printed: the
``repr`` of every object here hides them.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import secrets
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import webbrowser
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from flyteidl.service import auth_pb2, auth_pb2_grpc

from reconciler.admin.status import status_of, translate
from reconciler.config import Connection
from reconciler.errors import AuthError

HTTP_TIMEOUT = 15.0
INTERACTIVE_TIMEOUT = 300.0
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass(frozen=True)
class AuthMetadata:
    """What Admin advertises about its authorization server and its public client."""

    token_endpoint: str
    authorization_endpoint: str = ""
    device_authorization_endpoint: str = ""
    client_id: str = ""
    redirect_uri: str = ""
    scopes: tuple[str, ...] = ()
    audience: str = ""
    metadata_key: str = "authorization"


def discover(channel: grpc.Channel, timeout: float, endpoint: str) -> AuthMetadata:
    """Read Admin's AuthMetadataService (served without authentication)."""
    stub = auth_pb2_grpc.AuthMetadataServiceStub(channel)
    try:
        oauth = stub.GetOAuth2Metadata(auth_pb2.OAuth2MetadataRequest(), timeout=timeout)
        client = stub.GetPublicClientConfig(
            auth_pb2.PublicClientAuthConfigRequest(), timeout=timeout
        )
    except grpc.RpcError as exc:
        if status_of(exc) is grpc.StatusCode.UNAVAILABLE:
            raise translate(exc, method="GetOAuth2Metadata", endpoint=endpoint) from exc
        detail = exc.details() if isinstance(exc, grpc.Call) else str(exc)
        raise AuthError(
            f"cannot read Admin's auth metadata (AuthMetadataService): {detail}"
        ) from exc
    if not oauth.token_endpoint:
        raise AuthError("Admin's auth metadata names no token endpoint")
    return AuthMetadata(
        token_endpoint=oauth.token_endpoint,
        authorization_endpoint=oauth.authorization_endpoint,
        device_authorization_endpoint=oauth.device_authorization_endpoint,
        client_id=client.client_id,
        redirect_uri=client.redirect_uri,
        scopes=tuple(client.scopes),
        audience=client.audience,
        metadata_key=client.authorization_metadata_key or "authorization",
    )


class TokenSource(Protocol):
    def fetch(self, refresh_token: str | None) -> Token: ...


@dataclass(frozen=True, repr=False)
class Token:
    access_token: str
    expires_at: float | None = None
    refresh_token: str | None = None

    def __repr__(self) -> str:
        return "Token(********)"

    def fresh(self, now: float) -> bool:
        return self.expires_at is None or now < self.expires_at - 30


class TokenCache:
    """One token shared by all calls; fetched lazily, replaced when expired or refused."""

    def __init__(self, source: TokenSource, clock: Callable[[], float] = time.monotonic) -> None:
        self._source = source
        self._clock = clock
        self._lock = threading.Lock()
        self._token: Token | None = None

    def get(self, *, refused: str | None = None) -> str:
        """The current token; ``refused`` is a token Admin just refused, to be replaced."""
        with self._lock:
            token = self._token
            stale = token is None or not token.fresh(self._clock())
            if token is not None and refused is not None and token.access_token == refused:
                stale = True
            if stale:
                previous = token.refresh_token if token else None
                self._token = token = self._source.fetch(previous)
            assert token is not None
            return token.access_token

    def __repr__(self) -> str:
        return "TokenCache(********)"


# --- token sources ----------------------------------------------------------------------------


class ClientCredentials:
    def __init__(
        self, token_endpoint: str, client_id: str, secret: str, scopes: Sequence[str], audience: str
    ) -> None:
        self._endpoint = token_endpoint
        self._client_id = client_id
        self._secret = secret
        self._scopes = scopes
        self._audience = audience

    def fetch(self, refresh_token: str | None) -> Token:
        del refresh_token  # client credentials simply ask again
        basic = f"{urllib.parse.quote(self._client_id)}:{urllib.parse.quote(self._secret)}"
        header = "Basic " + base64.b64encode(basic.encode()).decode()
        form = {"grant_type": "client_credentials"}
        if self._scopes:
            form["scope"] = " ".join(self._scopes)
        if self._audience:
            form["audience"] = self._audience
        return _token_response(_post(self._endpoint, form, {"Authorization": header}))

    def __repr__(self) -> str:
        return f"ClientCredentials({self._endpoint}, client_id={self._client_id})"


class ExternalCommand:
    def __init__(self, command: Sequence[str]) -> None:
        self._command = list(command)

    def fetch(self, refresh_token: str | None) -> Token:
        del refresh_token
        try:
            done = subprocess.run(
                self._command, capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AuthError(f"auth command {self._command[0]!r} failed to run: {exc}") from exc
        token = done.stdout.strip()
        if done.returncode != 0 or not token:
            # stderr may help; stdout may hold a partial token, so it is never shown
            reason = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
            raise AuthError(f"auth command {self._command[0]!r} gave no token: {reason[0]}")
        return Token(token)


class Pkce:
    """Authorization code flow with PKCE (RFC 7636), receiving the code on a loopback server."""

    def __init__(
        self,
        metadata: AuthMetadata,
        client_id: str,
        scopes: Sequence[str],
        open_url: Callable[[str], object] = webbrowser.open,
        timeout: float = INTERACTIVE_TIMEOUT,
    ) -> None:
        if not metadata.authorization_endpoint or not metadata.redirect_uri:
            raise AuthError("Admin advertises no authorization endpoint or redirect URI for Pkce")
        self._metadata = metadata
        self._client_id = client_id
        self._scopes = scopes
        self._open_url = open_url
        self._timeout = timeout

    def fetch(self, refresh_token: str | None) -> Token:
        if refresh_token:
            try:
                return self._refresh(refresh_token)
            except AuthError:
                pass  # an expired refresh token: log in again
        verifier = secrets.token_urlsafe(64)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        state = secrets.token_urlsafe(16)
        redirect = urllib.parse.urlsplit(self._metadata.redirect_uri)
        receiver = _CodeReceiver(
            redirect.hostname or "localhost", redirect.port or 80, redirect.path
        )
        with receiver:
            query = {
                "response_type": "code",
                "client_id": self._client_id,
                "redirect_uri": self._metadata.redirect_uri,
                "scope": " ".join(self._scopes),
                "code_challenge": challenge.decode().rstrip("="),
                "code_challenge_method": "S256",
                "state": state,
            }
            if self._metadata.audience:
                query["audience"] = self._metadata.audience
            url = self._metadata.authorization_endpoint + "?" + urllib.parse.urlencode(query)
            self._open_url(url)
            params = receiver.wait(self._timeout)
        if params.get("state") != state:
            raise AuthError("the login answered with an unexpected state; try again")
        if "error" in params:
            raise AuthError(
                f"login refused: {params['error']} {params.get('error_description', '')}"
            )
        if "code" not in params:
            raise AuthError("the login returned no authorization code")
        form = {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": self._metadata.redirect_uri,
            "client_id": self._client_id,
            "code_verifier": verifier,
        }
        return _token_response(_post(self._metadata.token_endpoint, form))

    def _refresh(self, refresh_token: str) -> Token:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self._client_id,
        }
        return _token_response(_post(self._metadata.token_endpoint, form))


class DeviceFlow:
    """Device authorization grant (RFC 8628)."""

    def __init__(
        self,
        metadata: AuthMetadata,
        client_id: str,
        scopes: Sequence[str],
        notify: Callable[[str], object],
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = INTERACTIVE_TIMEOUT,
    ) -> None:
        if not metadata.device_authorization_endpoint:
            raise AuthError("Admin advertises no device authorization endpoint for DeviceFlow")
        self._metadata = metadata
        self._client_id = client_id
        self._scopes = scopes
        self._notify = notify
        self._sleep = sleep
        self._timeout = timeout

    def fetch(self, refresh_token: str | None) -> Token:
        del refresh_token
        form = {"client_id": self._client_id, "scope": " ".join(self._scopes)}
        if self._metadata.audience:
            form["audience"] = self._metadata.audience
        grant = _post(self._metadata.device_authorization_endpoint, form)
        try:
            device_code = str(grant["device_code"])
            user_code = str(grant["user_code"])
            uri = str(grant.get("verification_uri_complete") or grant["verification_uri"])
        except KeyError as exc:
            raise AuthError(f"device authorization answer lacks {exc}") from exc
        interval = float(grant.get("interval", 5))
        self._notify(f"To log in to Flyte, open {uri} and enter the code {user_code}")
        waited = 0.0
        limit = min(float(grant.get("expires_in", self._timeout)), self._timeout)
        poll = {
            "grant_type": DEVICE_GRANT,
            "device_code": device_code,
            "client_id": self._client_id,
        }
        while waited < limit:
            self._sleep(interval)
            waited += interval
            try:
                return _token_response(_post(self._metadata.token_endpoint, poll))
            except _OAuthError as exc:
                if exc.error == "authorization_pending":
                    continue
                if exc.error == "slow_down":
                    interval += 5
                    continue
                raise AuthError(f"device login failed: {exc}") from exc
        raise AuthError("device login timed out: the code was not entered in time")


# --- the interceptor --------------------------------------------------------------------------


class _CallDetails(grpc.ClientCallDetails):  # type: ignore[misc]
    def __init__(self, base: grpc.ClientCallDetails, metadata: list[tuple[str, str]]) -> None:
        self.method = base.method
        self.timeout = base.timeout
        self.metadata = metadata
        self.credentials = base.credentials
        self.wait_for_ready = getattr(base, "wait_for_ready", None)
        self.compression = getattr(base, "compression", None)


class BearerAuth(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Adds ``authorization: Bearer <token>``; on UNAUTHENTICATED, refreshes once and retries."""

    def __init__(self, tokens: TokenCache, metadata_key: str = "authorization") -> None:
        self._tokens = tokens
        self._key = metadata_key

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        token = self._tokens.get()
        outcome = continuation(self._details(details, token), request)
        if _code(outcome) is grpc.StatusCode.UNAUTHENTICATED:
            outcome = continuation(self._details(details, self._tokens.get(refused=token)), request)
        return outcome

    def _details(self, details: grpc.ClientCallDetails, token: str) -> _CallDetails:
        metadata = [(k, v) for k, v in (details.metadata or ()) if k != self._key]
        metadata.append((self._key, f"Bearer {token}"))
        return _CallDetails(details, metadata)


def _code(outcome: Any) -> grpc.StatusCode | None:
    try:
        code = outcome.code()
    except Exception:  # not a completed call
        return None
    return code if isinstance(code, grpc.StatusCode) else None


def token_source(
    connection: Connection,
    metadata: Callable[[], AuthMetadata],
    *,
    interactive: bool,
    notify: Callable[[str], object],
    open_url: Callable[[str], object] | None = None,
) -> TokenSource | None:
    """The token source the connection asks for, or None without auth."""
    kind = connection.auth_type
    if kind is None:
        return None
    if kind == "ExternalCommand":
        if not connection.command:
            raise AuthError("authType ExternalCommand needs admin.command")
        return ExternalCommand(connection.command)
    advertised = metadata()
    client_id = connection.client_id or advertised.client_id
    scopes = connection.scopes or advertised.scopes
    if kind == "ClientSecret":
        if not client_id or connection.client_secret is None:
            raise AuthError(
                "authType ClientSecret needs a client id and a secret (clientSecretLocation, "
                "clientSecretEnvVar or FLYTE_CREDENTIALS_CLIENT_SECRET)"
            )
        return ClientCredentials(
            advertised.token_endpoint,
            client_id,
            connection.client_secret.reveal(),
            scopes,
            connection.audience or advertised.audience,
        )
    if not interactive:
        raise AuthError(
            f"authType {kind} needs a person at a terminal; in CI use ClientSecret or "
            "ExternalCommand"
        )
    if kind == "Pkce":

        def browse(url: str) -> object:
            notify(f"Opening a browser to log in to Flyte; if none opens, visit {url}")
            return (open_url or webbrowser.open)(url)

        return Pkce(advertised, client_id, scopes, open_url=browse)
    return DeviceFlow(advertised, client_id, scopes, notify=notify)


# --- HTTP -------------------------------------------------------------------------------------


class _OAuthError(AuthError):
    def __init__(self, endpoint: str, status: int, error: str, description: str) -> None:
        self.error = error
        text = f"{endpoint} answered {status}: {error}"
        super().__init__(text + (f" ({description})" if description else ""))


def _post(
    url: str, form: Mapping[str, str], headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    body = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    request.add_header("Accept", "application/json")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            return _json(url, response.read())
    except urllib.error.HTTPError as exc:
        answer = _json_or_empty(exc.read())
        raise _OAuthError(
            url,
            exc.code,
            str(answer.get("error", exc.reason)),
            str(answer.get("error_description", "")),
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AuthError(f"cannot reach the token endpoint {url}: {reason}") from None


def _json(url: str, raw: bytes) -> dict[str, Any]:
    answer = _json_or_empty(raw)
    if not answer:
        raise AuthError(f"{url} did not answer with a JSON object")
    return answer


def _json_or_empty(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _token_response(answer: dict[str, Any]) -> Token:
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise AuthError("the token endpoint answered without an access_token")
    expires_in = answer.get("expires_in")
    expires_at = (
        time.monotonic() + float(expires_in) if isinstance(expires_in, int | float) else None
    )
    refresh = answer.get("refresh_token")
    return Token(token, expires_at, refresh if isinstance(refresh, str) else None)


class _CodeReceiver:
    """A one-shot HTTP server on the redirect URI that catches the authorization code."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self._path = path or "/"
        self._params: dict[str, str] = {}
        self._done = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                if parsed.path != receiver._path:
                    self.send_error(404)
                    return
                receiver._params = dict(urllib.parse.parse_qsl(parsed.query))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.end_headers()
                self.wfile.write(b"Logged in to Flyte; you can close this window.\n")
                receiver._done.set()

            def log_message(self, format: str, *args: Any) -> None:
                return  # the query string holds the code: never log it

        try:
            self._server = http.server.HTTPServer((host, port), Handler)
        except OSError as exc:
            raise AuthError(f"cannot listen on the redirect URI {host}:{port}: {exc}") from exc
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> _CodeReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout: float) -> dict[str, str]:
        if not self._done.wait(timeout):
            raise AuthError("login timed out: no answer on the redirect URI")
        return self._params
