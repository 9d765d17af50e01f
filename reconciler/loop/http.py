"""The loop's HTTP endpoints (stdlib ``ThreadingHTTPServer``; one thread per request):

- ``GET /metrics``: Prometheus text format;
- ``GET /healthz``: 200 while the process serves;
- ``GET /readyz``: 200 when a pass succeeded within the last 3 intervals, else 503;
- ``GET /api/state``: the last pass, its resources and the recent passes, as JSON;
- ``POST /hooks/git``: a GitHub or GitLab push triggers a pass (see ``webhook.py``);
- ``GET /``: a placeholder until the status page exists.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST

from reconciler.errors import UsageError
from reconciler.loop.webhook import MAX_BODY, Verdict
from reconciler.plan.model import json_default

DEFAULT_LISTEN = "127.0.0.1:9464"

_INDEX = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>reconciler</title></head>
<body><h1>Flyte reconciler</h1>
<p>The status page is not built yet. Meanwhile:
<a href="/api/state">/api/state</a>, <a href="/metrics">/metrics</a>,
<a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a>.</p>
</body></html>
"""


class App(Protocol):
    """What the server serves; the loop implements it."""

    def metrics_text(self) -> bytes: ...

    def ready(self) -> tuple[bool, str]: ...

    def state_json(self) -> Mapping[str, Any]: ...

    def hook(self, headers: Mapping[str, str], body: bytes) -> Verdict: ...


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[V6]:PORT`` or ``:PORT`` (loopback): where to listen."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"--listen {text}: expected HOST:PORT, such as 127.0.0.1:9464")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app: App


class _V6Server(_Server):
    address_family = socket.AF_INET6


class Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "reconciler"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        app = self.server.app
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._send(200, app.metrics_text(), CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            self._send(200, b"ok\n", "text/plain; charset=utf-8")
        elif path == "/readyz":
            ready, why = app.ready()
            self._send(200 if ready else 503, f"{why}\n".encode(), "text/plain; charset=utf-8")
        elif path == "/api/state":
            self._json(200, app.state_json())
        elif path == "/":
            self._send(200, _INDEX, "text/html; charset=utf-8")
        elif path == "/hooks/git":
            self._json(405, {"error": "POST a push event here"}, allow="POST")
        else:
            self._json(404, {"error": f"no such page: {path}"})

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        if path != "/hooks/git":
            self._json(404, {"error": f"nothing to POST to at {path}"})
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._json(411, {"error": "Content-Length is required"})
            return
        if int(length) > MAX_BODY:
            self.close_connection = True
            self._json(413, {"error": "payload too large"})
            return
        body = self.rfile.read(int(length))
        headers = {name.lower(): value for name, value in self.headers.items()}
        verdict = self.server.app.hook(headers, body)
        if verdict.status == 204:
            self._send(204, b"", None)
        else:
            self._json(verdict.status, {"triggered": verdict.trigger, "message": verdict.message})

    def _json(self, status: int, data: Mapping[str, Any], **headers: str) -> None:
        body = (json.dumps(data, indent=2, default=json_default) + "\n").encode("utf-8")
        self._send(status, body, "application/json", **headers)

    def _send(self, status: int, body: bytes, content_type: str | None, **headers: str) -> None:
        self.send_response(status, HTTPStatus(status).phrase)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name.capitalize(), value)
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """No access log: stdout is the pass log, and probes would flood stderr."""


class Server:
    def __init__(self, listen: str, app: App) -> None:
        host, port = parse_listen(listen)
        cls = _V6Server if ":" in host else _Server
        try:
            self._httpd = cls((host, port), Handler)
        except OSError as exc:
            raise UsageError(f"--listen {listen}: {exc.strerror or exc}") from None
        self._httpd.app = app
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            name="http",
            kwargs={"poll_interval": 0.2},
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    def start(self) -> Server:
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()
