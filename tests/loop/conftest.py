"""The reconcile loop against the local Admin over real gRPC, with real HTTP on loopback: a
``reconciler reconcile`` subprocess (:class:`ReconcilerProcess`, which ``tests/ui`` uses for
``reconciler ui`` too), a notification receiver, and a gate that holds one Admin call so that a
test knows an operation is in flight."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from flyteidl.admin import common_pb2, launch_plan_pb2
from flyteidl.service import admin_pb2_grpc

from reconciler.localadmin import LocalAdmin, ManualClock
from tests.engine.conftest import DOMAIN, PROJECT, register_example, settings
from tests.localadmin import builders as b

REPO = Path(__file__).resolve().parents[2]
LP_ADDRESS = f"LaunchPlan/{PROJECT}/{DOMAIN}/daily"
SECRET_REGION = "s3cr3t-region-value"  # the value of ${env:LOOP_REGION}: must never show
DEADLINE = 60.0
_T = TypeVar("_T")

LAUNCH_PLAN = """\
apiVersion: reconciler/v1
kind: LaunchPlan
metadata: {name: daily}
spec:
  version: v1
  workflow: {name: wf, version: v1}
  active: true
  schedule: {cron: "0 6 * * *", kickoffTimeInputArg: run_date}
  defaultInputs: {a: 3, region: "${env:LOOP_REGION}"}
"""


def eventually(check: Callable[[], _T | None], what: str, deadline: float = DEADLINE) -> _T:
    """Poll ``check`` until it returns something truthy, for at most ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


class Gate(grpc.ServerInterceptor):  # type: ignore[misc]
    """Holds calls of one Admin method, once armed, until released."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.armed = threading.Event()
        self.entered = threading.Event()
        self.released = threading.Event()

    def intercept_service(self, continuation: Any, details: Any) -> Any:
        if self.armed.is_set() and details.method.endswith("/" + self.method):
            self.entered.set()
            self.released.wait(DEADLINE)
        return continuation(details)


@pytest.fixture
def gate() -> Iterator[Gate]:
    held = Gate("UpdateLaunchPlan")
    yield held
    held.released.set()


@pytest.fixture
def local_admin(tmp_path: Path, gate: Gate) -> Iterator[LocalAdmin]:
    with LocalAdmin(
        clock=ManualClock(), data_dir=tmp_path / "admin-data", interceptors=[gate]
    ) as admin:
        yield admin
        gate.released.set()  # a held call would keep the server from stopping


@pytest.fixture
def stub(local_admin: LocalAdmin) -> Iterator[admin_pb2_grpc.AdminServiceStub]:
    with grpc.insecure_channel(local_admin.endpoint) as channel:
        register_example(admin_pb2_grpc.AdminServiceStub(channel))
        yield admin_pb2_grpc.AdminServiceStub(channel)


@pytest.fixture
def manifests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A launch plan whose default input comes from the environment (a secret)."""
    monkeypatch.setenv("LOOP_REGION", SECRET_REGION)
    monkeypatch.chdir(tmp_path)  # in-process runs keep .reconciler/ here
    root = settings(tmp_path / "manifests")
    (root / "lp.yaml").write_text(LAUNCH_PLAN)
    return root


def deactivate(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    """Someone deactivates the schedule in the UI: behind git's back."""
    stub.UpdateLaunchPlan(
        launch_plan_pb2.LaunchPlanUpdateRequest(id=b.lp_id("daily"), state=launch_plan_pb2.INACTIVE)
    )


def is_active(stub: admin_pb2_grpc.AdminServiceStub) -> bool:
    plan = stub.GetLaunchPlan(common_pb2.ObjectGetRequest(id=b.lp_id("daily")))
    return bool(plan.closure.state == launch_plan_pb2.ACTIVE)


class Receiver:
    """A notification receiver on loopback: keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/services/T0/B0/token"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def events(self) -> list[str]:
        return [str(r["event"]) for r in list(self.received)]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def get(url: str) -> Response:
    """GET without following redirects."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=10) as response:
            return Response(response.status, dict(response.headers), response.read().decode())
    except urllib.error.HTTPError as exc:
        return Response(exc.code, dict(exc.headers), exc.read().decode())


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


class ReconcilerProcess:
    """``reconciler ARGS...`` as a subprocess that serves HTTP on loopback (``reconcile`` with
    ``--listen``, ``ui``), its output in files."""

    def __init__(self, workdir: Path, args: list[str], env: dict[str, str]) -> None:
        self.command = args[0]
        self.out_path = workdir / f"{self.command}-{id(self)}.out"
        self.err_path = workdir / f"{self.command}-{id(self)}.err"
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "reconciler", *args],
                cwd=workdir,
                env=env,
                stdout=out,
                stderr=err,
            )

    @property
    def out(self) -> str:
        return self.out_path.read_text("utf-8", errors="replace")

    @property
    def err(self) -> str:
        return self.err_path.read_text("utf-8", errors="replace")

    @property
    def url(self) -> str:
        """Where it listens, once it says so on stderr (``... on http://127.0.0.1:PORT``)."""

        def found() -> str | None:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"reconciler {self.command} exited early:\n{self.out}\n{self.err}"
                )
            match = re.search(r" on (http://\S+)", self.err)
            return match.group(1) if match else None

        return eventually(found, f"reconciler {self.command} to listen")

    def get(self, path: str) -> Response:
        return get(self.url + path)

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> int:
        return post(self.url + path, body, headers)

    def metrics(self) -> str:
        response = self.get("/metrics")
        assert response.status == 200
        return response.body

    def state(self) -> dict[str, Any]:
        response = self.get("/api/state")
        assert response.status == 200
        return json.loads(response.body)  # type: ignore[no-any-return]

    def passes(self) -> list[dict[str, Any]]:
        """The recent passes (of earlier runs too, with the same state file), oldest first."""
        return list(reversed(self.state()["passes"]))

    def wait_passes(self, count: int) -> list[dict[str, Any]]:
        return eventually(lambda: (p := self.passes()) and len(p) >= count and p, f"{count} passes")

    def signal(self, sig: int = signal.SIGTERM) -> None:
        self.process.send_signal(sig)

    def wait(self) -> int:
        try:
            return self.process.wait(DEADLINE)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"reconciler {self.command} did not exit:\n{self.err}") from None

    def stop(self) -> None:
        """SIGTERM, and wait for it to exit."""
        if self.process.poll() is None:
            self.process.terminate()
            self.wait()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(DEADLINE)


@pytest.fixture
def start_loop(
    tmp_path: Path, local_admin: LocalAdmin
) -> Iterator[Callable[..., ReconcilerProcess]]:
    """Start ``reconciler reconcile ARGS... --endpoint <local Admin> --insecure`` on a free
    port, with this test's environment (its secrets included)."""
    started: list[ReconcilerProcess] = []

    def start(*args: str | Path, env: dict[str, str] | None = None) -> ReconcilerProcess:
        environ = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
        full = ["reconcile", *(str(a) for a in args)]
        full += ["--endpoint", local_admin.endpoint, "--insecure", "--listen", "127.0.0.1:0"]
        process = ReconcilerProcess(tmp_path, full, environ)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
