"""The HTTP endpoints of ``reconcile`` and ``reconciler ui`` (stdlib ``ThreadingHTTPServer``;
one thread per request).

Both serve the status page and its data, read-only:

- ``GET /``: the status page (``render/page.py``), filtered by the query
  (``?kind=LaunchPlan&status=drifted``);
- ``GET /r/ID`` and ``GET /resource/<address>``: one resource, its whole diff;
- ``GET /c/ID``: a redirect to the resource's Flyte console page (keeps the page small);
- ``GET /api/state``: the last pass, its resources and the recent passes, as JSON;
- ``GET /healthz``: 200 while the process serves.

``reconcile`` serves the loop's endpoints as well:

- ``GET /metrics``: Prometheus text format;
- ``GET /readyz``: 200 when a pass succeeded within the last 3 intervals, else 503;
- ``POST /hooks/git``: a GitHub or GitLab push triggers a pass (see ``webhook.py``).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import unquote

from prometheus_client import CONTENT_TYPE_LATEST

from reconciler.errors import UsageError
from reconciler.loop.webhook import MAX_BODY, Verdict
from reconciler.plan.model import json_default
from reconciler.render import page

DEFAULT_LISTEN = "127.0.0.1:9464"
_HTML = "text/html; charset=utf-8"
_PAGE_HEADERS = {
    "Content-Security-Policy": page.CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Pages(Protocol):
    """What the status page is made from: a state (the loop's, or a saved state file)."""

    def state_json(self) -> Mapping[str, Any]: ...

    def page_options(self) -> page.PageOptions: ...


class App(Pages, Protocol):
    """The loop: the status page, and its own endpoints."""

    def metrics_text(self) -> bytes: ...

    def ready(self) -> tuple[bool, str]: ...

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
    pages: Pages
    loop: App | None


class _V6Server(_Server):
    address_family = socket.AF_INET6


class Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "reconciler"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        loop = self.server.loop
        path, _, query = self.path.partition("?")
        if path == "/":
            self._index(query)
        elif path.startswith(("/r/", "/c/", "/resource/")):
            self._resource(path)
        elif path == "/api/state":
            self._json(200, self.server.pages.state_json())
        elif path == "/healthz":
            self._send(200, b"ok\n", "text/plain; charset=utf-8")
        elif loop is not None and path == "/metrics":
            self._send(200, loop.metrics_text(), CONTENT_TYPE_LATEST)
        elif loop is not None and path == "/readyz":
            ready, why = loop.ready()
            self._send(200 if ready else 503, f"{why}\n".encode(), "text/plain; charset=utf-8")
        elif loop is not None and path == "/hooks/git":
            self._json(405, {"error": "POST a push event here"}, allow="POST")
        else:
            self._json(404, {"error": f"no such page: {path}"})

    do_HEAD = do_GET

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        loop = self.server.loop
        if path != "/hooks/git" or loop is None:
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
        verdict = loop.hook(headers, body)
        if verdict.status == 204:
            self._send(204, b"", None)
        else:
            self._json(verdict.status, {"triggered": verdict.trigger, "message": verdict.message})

    # --- the status page ----------------------------------------------------------------------

    def _index(self, query: str) -> None:
        pages = self.server.pages
        try:
            filters = page.Filters.parse(query)
        except page.BadQuery as exc:
            self._page(400, page.render_message("Bad filter", str(exc)))
            return
        self._page(200, page.render_index(pages.state_json(), filters, pages.page_options()))

    def _resource(self, path: str) -> None:
        """``/r/ID`` (the page's links), ``/resource/<address>`` (for people and other tools),
        ``/c/ID`` (a redirect to the console)."""
        pages = self.server.pages
        state = pages.state_json()
        prefix, _, rest = path[1:].partition("/")
        address = unquote(rest)
        # relative links back to the status page: one ../ per directory below it
        base = "../" * path[1:].count("/")
        if prefix == "resource":
            found = page.find_resources(state, address=address)
        else:
            found = page.find_resources(state, ident=rest)
        if not found:
            what = address if prefix == "resource" else f"with id {rest}"
            message = f"No resource {what} in the last pass (it may have left the manifests)."
            self._page(404, page.render_message("No such resource", message, base))
        elif len(found) > 1:
            addresses = [str(r.get("address")) for r in found]
            links = [(f"resource/{page.quote_address(a)}", a) for a in addresses]
            message = "Several resources share this short id; pick one."
            self._page(300, page.render_message("Which resource?", message, base, links))
        elif prefix == "c":
            url = page.console_url(found[0])
            if url is None:
                message = "This resource has no console link: is console.endpoint set?"
                self._page(404, page.render_message("No console link", message, base))
            else:
                self._send(302, b"", None, location=url, **_PAGE_HEADERS)
        else:
            html = page.render_resource(state, found[0], pages.page_options(), base)
            self._page(200, html)

    def _page(self, status: int, html: str) -> None:
        self._send(status, html.encode("utf-8"), _HTML, **_PAGE_HEADERS)

    def _json(self, status: int, data: Mapping[str, Any], **headers: str) -> None:
        body = (json.dumps(data, indent=2, default=json_default) + "\n").encode("utf-8")
        self._send(status, body, "application/json", **headers)

    def _send(self, status: int, body: bytes, content_type: str | None, **headers: str) -> None:
        self.send_response(status, HTTPStatus(status).phrase)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-").capitalize() if name.islower() else name, value)
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """No access log: stdout is the pass log, and probes would flood stderr."""


class Server:
    """Serves ``pages`` (the status page and ``/api/state``), and the endpoints of ``loop``
    when there is one (``reconcile``; ``reconciler ui`` has none)."""

    def __init__(self, listen: str, pages: Pages, loop: App | None = None) -> None:
        host, port = parse_listen(listen)
        cls = _V6Server if ":" in host else _Server
        try:
            self._httpd = cls((host, port), Handler)
        except OSError as exc:
            raise UsageError(f"--listen {listen}: {exc.strerror or exc}") from None
        self._httpd.pages = pages
        self._httpd.loop = loop
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
