"""Loopback stand-ins for the peers the Admin client talks to: a gRPC server that answers the
way FlyteAdmin does for the few calls the client tests need (status codes, paging, auth
metadata, bearer tokens), and an OAuth2 authorization server over HTTP.

They are real servers on 127.0.0.1, so the client's channel, interceptors, retries and HTTP
flows all run for real; only the server-side business logic is reduced to what each test sets.
The full local Admin (reconciler/localadmin) is tested separately with flytekit.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import secrets
import threading
import urllib.parse
from collections import defaultdict
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from flyteidl.admin import project_pb2, version_pb2
from flyteidl.service import admin_pb2_grpc, auth_pb2, auth_pb2_grpc

# --- OAuth2 ------------------------------------------------------------------------------------


@dataclass
class OAuthState:
    clients: dict[str, str] = field(default_factory=lambda: {"reconciler": "s3cr3t"})
    public_client: str = "flytectl"
    valid_tokens: set[str] = field(default_factory=set)
    issued: int = 0
    requests: list[dict[str, str]] = field(default_factory=list)
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (challenge, redirect)
    device_polls_before_approval: int = 2
    device_polls: int = 0
    expires_in: int = 3600

    def issue(self) -> dict[str, Any]:
        self.issued += 1
        token = f"tok-{self.issued}-{secrets.token_hex(4)}"
        self.valid_tokens.add(token)
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "refresh_token": f"refresh-{self.issued}",
        }


class OAuthServer:
    """Token endpoint (client credentials, authorization code + PKCE, refresh, device code),
    authorization endpoint that approves at once, and device authorization endpoint."""

    def __init__(self) -> None:
        self.state = OAuthState()
        state = self.state

        class Handler(http.server.BaseHTTPRequestHandler):
            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                form["_authorization"] = self.headers.get("Authorization", "")
                state.requests.append({"path": self.path, **form})
                if self.path == "/oauth2/token":
                    self._token(form)
                elif self.path == "/oauth2/device":
                    self._reply(
                        200,
                        {
                            "device_code": "dev-1",
                            "user_code": "ABCD-EFGH",
                            "verification_uri": "http://127.0.0.1/activate",
                            "expires_in": 600,
                            "interval": 1,
                        },
                    )
                else:
                    self._reply(404, {"error": "not_found"})

            def _token(self, form: dict[str, str]) -> None:
                grant = form.get("grant_type")
                if grant == "client_credentials":
                    scheme, _, encoded = form["_authorization"].partition(" ")
                    user, _, password = base64.b64decode(encoded).decode().partition(":")
                    client = urllib.parse.unquote(user)
                    if scheme != "Basic" or state.clients.get(client) != urllib.parse.unquote(
                        password
                    ):
                        self._reply(
                            401, {"error": "invalid_client", "error_description": "bad secret"}
                        )
                        return
                    self._reply(200, state.issue())
                elif grant == "authorization_code":
                    challenge, redirect = state.codes.pop(form.get("code", ""), ("", ""))
                    digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
                    expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
                    if (
                        not challenge
                        or challenge != expected
                        or redirect != form.get("redirect_uri")
                    ):
                        self._reply(400, {"error": "invalid_grant"})
                        return
                    self._reply(200, state.issue())
                elif grant == "refresh_token":
                    self._reply(200, state.issue())
                elif grant == "urn:ietf:params:oauth:grant-type:device_code":
                    state.device_polls += 1
                    if state.device_polls <= state.device_polls_before_approval:
                        self._reply(400, {"error": "authorization_pending"})
                    else:
                        self._reply(200, state.issue())
                else:
                    self._reply(400, {"error": "unsupported_grant_type"})

            def do_GET(self) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parsed.query))
                if parsed.path != "/oauth2/authorize":
                    self.send_error(404)
                    return
                # The person approves at once: redirect back with a code bound to the challenge.
                code = secrets.token_hex(8)
                state.codes[code] = (query["code_challenge"], query["redirect_uri"])
                target = (
                    query["redirect_uri"]
                    + "?"
                    + urllib.parse.urlencode({"code": code, "state": query["state"]})
                )
                self.send_response(302)
                self.send_header("Location", target)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> OAuthServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- gRPC ---------------------------------------------------------------------------------------


@dataclass
class AdminBehaviour:
    """What the stand-in Admin does; tests change it between calls."""

    version: str = "v1.16.8-standin"
    projects: list[str] = field(default_factory=lambda: ["flytesnacks"])
    # method name -> status codes to answer with, one per call, before answering normally
    failures: dict[str, list[grpc.StatusCode]] = field(default_factory=lambda: defaultdict(list))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    require_tokens: set[str] | None = None  # None: no auth; otherwise the accepted tokens
    repeat_token: bool = False
    oauth_url: str = ""
    redirect_uri: str = "http://localhost:53593/callback"
    seen_tokens: list[str] = field(default_factory=list)


class _Admin(admin_pb2_grpc.AdminServiceServicer):  # type: ignore[misc]
    def __init__(self, behaviour: AdminBehaviour) -> None:
        self.b = behaviour

    def _fail(self, method: str, context: grpc.ServicerContext) -> None:
        self.b.calls[method] += 1
        pending = self.b.failures.get(method)
        if pending:
            code = pending.pop(0)
            context.abort(code, f"{method} failed with {code.name} (stand-in)")

    def GetVersion(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._fail("GetVersion", context)
        response = version_pb2.GetVersionResponse()
        response.control_plane_version.Version = self.b.version
        return response

    def ListProjects(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._fail("ListProjects", context)
        if request.limit <= 0:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "limit must be > 0")
        offset = int(request.token or 0)
        page = self.b.projects[offset : offset + request.limit]
        # Admin: a next token only when the page is full.
        token = "" if len(page) < request.limit else str(offset + len(page))
        if self.b.repeat_token:
            token = "1"
        return project_pb2.Projects(
            projects=[project_pb2.Project(id=p, name=p) for p in page], token=token
        )


class _AuthMetadata(auth_pb2_grpc.AuthMetadataServiceServicer):  # type: ignore[misc]
    def __init__(self, behaviour: AdminBehaviour) -> None:
        self.b = behaviour

    def GetOAuth2Metadata(self, request: Any, context: grpc.ServicerContext) -> Any:
        return auth_pb2.OAuth2MetadataResponse(
            issuer=self.b.oauth_url,
            token_endpoint=f"{self.b.oauth_url}/oauth2/token",
            authorization_endpoint=f"{self.b.oauth_url}/oauth2/authorize",
            device_authorization_endpoint=f"{self.b.oauth_url}/oauth2/device",
        )

    def GetPublicClientConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        return auth_pb2.PublicClientAuthConfigResponse(
            client_id="flytectl",
            redirect_uri=self.b.redirect_uri,
            scopes=["offline", "all"],
            authorization_metadata_key="authorization",
        )


class _RequireToken(grpc.ServerInterceptor):  # type: ignore[misc]
    def __init__(self, behaviour: AdminBehaviour) -> None:
        self.b = behaviour

    def intercept_service(self, continuation: Any, details: Any) -> Any:
        if self.b.require_tokens is None or "AuthMetadataService" in details.method:
            return continuation(details)
        header = dict(details.invocation_metadata).get("authorization", "")
        token = header.removeprefix("Bearer ")
        self.b.seen_tokens.append(token)
        if token in self.b.require_tokens:
            return continuation(details)

        def deny(request: Any, context: grpc.ServicerContext) -> Any:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "token is missing or invalid")

        return grpc.unary_unary_rpc_method_handler(deny)


class AdminStandIn:
    def __init__(self, tls: tuple[bytes, bytes] | None = None) -> None:
        """``tls``: (private key PEM, certificate PEM) to serve TLS instead of plain text."""
        self.behaviour = AdminBehaviour()
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=4), interceptors=[_RequireToken(self.behaviour)]
        )
        admin_pb2_grpc.add_AdminServiceServicer_to_server(_Admin(self.behaviour), self._server)
        auth_pb2_grpc.add_AuthMetadataServiceServicer_to_server(
            _AuthMetadata(self.behaviour), self._server
        )
        if tls is None:
            self.port = self._server.add_insecure_port("127.0.0.1:0")
        else:
            credentials = grpc.ssl_server_credentials([tls])
            self.port = self._server.add_secure_port("127.0.0.1:0", credentials)
        self.endpoint = f"127.0.0.1:{self.port}"

    def __enter__(self) -> AdminStandIn:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None)
