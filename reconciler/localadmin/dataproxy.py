"""Blob storage for the local Admin: a small HTTP server on 127.0.0.1 plus signed URLs.

``DataProxyService.CreateUploadLocation`` hands out a URL of this server, signed with an HMAC
over path and expiry, the way a cloud bucket hands out a presigned PUT URL. The server accepts
``PUT`` on signed URLs only, checks the ``Content-MD5`` header against the body (mismatch: 400),
and, when the upload location was requested with an MD5, that the header matches it (as S3/GCS
bind the MD5 into the signature). Blobs land under ``<data dir>/blobs/<project>/<domain>/<md5
or filename_root>/<filename>``; the ``native_url`` is the ``file://`` URL of that file so that
flytekit and the engine read it directly on this machine. ``GET`` on a signed URL serves a blob
(``CreateDownloadLocation``); on a directory (a multipart blob, such as a ``FlyteDirectory``
output) it answers with a ``text/uri-list`` of the native URLs of the files below it, as a
bucket lists a prefix, so that a client can fetch a directory file by file with one signed URL
each (object stores' signed URLs do not list: that part is this store's own).

With fault injection on (``LocalAdmin(faults=...)``), the injector that faults gRPC calls
faults the ``PUT`` too (``faults.py``: 503, a connection reset, a response lost after the blob
was written), as a flaky network between a client and a bucket does.

The same server answers ``POST /oauth2/token`` (client credentials) when auth is configured, so
that the ClientSecret flow can be exercised end to end against the token endpoint that
``AuthMetadataService`` advertises.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from reconciler.localadmin.clock import Clock
from reconciler.localadmin.faults import (
    BLOB_PUT,
    HTTP_STATUS,
    Fault,
    FaultInjector,
    reset_connection,
)

BLOB_DIR = "blobs"
"""The blob store's directory under the data dir."""
URI_LIST = "text/uri-list"


class BlobServer:
    def __init__(
        self,
        data_dir: Path,
        clock: Clock,
        token_issuer: TokenIssuer | None = None,
        faults: FaultInjector | None = None,
    ):
        self.root = (data_dir / BLOB_DIR).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self.token_issuer = token_issuer
        self.faults = faults
        self._secret = secrets.token_bytes(32)
        self._expected_md5: dict[str, str] = {}
        self._lock = threading.Lock()
        handler = _handler_for(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            # a short poll keeps stop() fast: shutdown waits for the loop to notice
            target=lambda: self._server.serve_forever(poll_interval=0.05),
            name="localadmin-blobs",
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self.close()
        self._thread.join(timeout=10)

    def close(self) -> None:
        """Release the listening socket (enough when the server never started)."""
        self._server.server_close()

    # -- URLs --------------------------------------------------------------------------------

    def path_for(self, relative: str) -> Path:
        target = (self.root / relative).resolve()
        if self.root not in target.parents:
            raise ValueError(f"{relative!r} leaves the blob directory")
        return target

    def relative(self, native_url: str) -> str | None:
        """The blob path of a ``file://`` URL under this store, or None."""
        parsed = urllib.parse.urlparse(native_url)
        if parsed.scheme != "file":
            return None
        path = Path(urllib.parse.unquote(parsed.path)).resolve()
        if self.root not in path.parents:
            return None
        return path.relative_to(self.root).as_posix()

    def sign(self, relative: str, expires_in: float, content_md5: str = "") -> tuple[str, float]:
        expires = self.clock.now() + expires_in
        if content_md5:
            with self._lock:
                self._expected_md5[relative] = content_md5
        signature = self._signature(relative, expires)
        query = urllib.parse.urlencode({"expires": f"{expires:.0f}", "signature": signature})
        return f"{self.base_url}/blobs/{urllib.parse.quote(relative)}?{query}", expires

    def _signature(self, relative: str, expires: float) -> str:
        message = f"{relative}\n{expires:.0f}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def check(self, relative: str, expires: str, signature: str) -> bool:
        try:
            expiry = float(expires)
        except ValueError:
            return False
        good = hmac.compare_digest(self._signature(relative, expiry), signature)
        return good and self.clock.now() <= expiry

    def expected_md5(self, relative: str) -> str:
        with self._lock:
            return self._expected_md5.get(relative, "")


class TokenIssuer:
    """Client-credentials token endpoint: known client id/secret pairs get a bearer token."""

    def __init__(self, clients: dict[str, str], issue: dict[str, str]) -> None:
        self.clients = clients  # client_id -> secret
        self.issue = issue  # client_id -> token handed out


def _handler_for(store: BlobServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the test output and the serve console stay readable

        def _reply(self, code: int, body: bytes = b"", content_type: str = "text/plain") -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _authorized(self) -> str | None:
            parsed = urllib.parse.urlparse(self.path)
            if not parsed.path.startswith("/blobs/"):
                return None
            relative = urllib.parse.unquote(parsed.path.removeprefix("/blobs/"))
            query = urllib.parse.parse_qs(parsed.query)
            expires = query.get("expires", [""])[0]
            signature = query.get("signature", [""])[0]
            return relative if store.check(relative, expires, signature) else None

        def do_PUT(self) -> None:
            fault = store.faults.decide(BLOB_PUT) if store.faults is not None else None
            if fault is Fault.DELAY:
                assert store.faults is not None
                time.sleep(store.faults.faults.delay)
            # read first, whatever the answer: a client still sending a large body would see
            # a broken connection instead of the answer (a 403 for an expired URL, say)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if fault in HTTP_STATUS:
                self._reply(HTTP_STATUS[fault], b"injected fault")
                return
            if fault is Fault.RESET:
                self._reset()
                return
            relative = self._authorized()
            if relative is None:
                self._reply(403, b"invalid or expired signature")
                return
            actual = base64.b64encode(hashlib.md5(body).digest()).decode()
            given = self.headers.get("Content-MD5", "")
            expected = store.expected_md5(relative)
            if (given and given != actual) or (expected and given != expected):
                self._reply(400, b"Content-MD5 does not match the body or the signed MD5")
                return
            target = store.path_for(relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            # a bucket's PUT is atomic: a reader (or a second writer of the same object, as two
            # applies registering one package are) never sees a half-written file
            partial = target.with_name(f".{target.name}.{secrets.token_hex(8)}.part")
            partial.write_bytes(body)
            os.replace(partial, target)
            if fault is Fault.DROP_RESPONSE:
                self._reply(503, b"injected fault: the response was lost after the write")
            elif fault is Fault.RESET_AFTER_COMMIT:
                self._reset()
            else:
                self._reply(200)

        def _reset(self) -> None:
            """End the connection with an RST, no answer sent."""
            self.close_connection = True
            reset_connection(self.connection)

        def do_GET(self) -> None:
            relative = self._authorized()
            if relative is None:
                self._reply(403, b"invalid or expired signature")
                return
            target = store.path_for(relative)
            if target.is_dir():
                files = sorted(p for p in target.rglob("*") if p.is_file() and not p.is_symlink())
                listing = "".join(f"{p.as_uri()}\r\n" for p in files)  # RFC 2483: CRLF
                self._reply(200, listing.encode(), URI_LIST)
                return
            if not target.is_file():
                self._reply(404, b"no such blob")
                return
            self._reply(200, target.read_bytes(), "application/octet-stream")

        def do_POST(self) -> None:
            issuer = store.token_issuer
            if self.path.split("?")[0] != "/oauth2/token" or issuer is None:
                self._reply(404, b"not found")
                return
            form = urllib.parse.parse_qs(
                self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            )
            client_id = form.get("client_id", [""])[0]
            secret = form.get("client_secret", [""])[0]
            header = self.headers.get("Authorization", "")
            if header.startswith("Basic "):
                decoded = base64.b64decode(header.removeprefix("Basic ")).decode()
                client_id, _, secret = decoded.partition(":")
                client_id = urllib.parse.unquote(client_id)
                secret = urllib.parse.unquote(secret)
            known = issuer.clients.get(client_id)
            if known is None or not hmac.compare_digest(known, secret):
                self._reply(401, b'{"error": "invalid_client"}', "application/json")
                return
            token = issuer.issue[client_id]
            body = {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
            self._reply(200, json.dumps(body).encode(), "application/json")

    return Handler
