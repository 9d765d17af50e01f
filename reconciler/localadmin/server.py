"""``LocalAdmin``: the local FlyteAdmin put together and served on 127.0.0.1.

One object owns the SQLite store, the logic (registry, executions, signals), the simulated
engine, the blob/token HTTP server and the gRPC server (a thread pool; message limits 64 MiB).
With a real clock a background ticker drives the engine; with a :class:`ManualClock` (tests)
nothing moves until :meth:`LocalAdmin.advance` is called. ``execution_defaults`` stands for
Admin's application configuration, the last layer of an execution's settings (by default Admin's
own: ``max_parallelism`` 25)::

    with LocalAdmin(clock=ManualClock()) as admin:
        remote = FlyteRemote(Config.for_endpoint(admin.endpoint, insecure=True), ...)
        ...
        admin.advance(60)          # move simulated time on and let the engine catch up

``faults=Faults(rate=0.3, seed=1)`` injects failures into the calls it serves (``faults.py``);
``admin.fault_injector.injected`` says what was injected, and ``admin.fault_injector.enabled``
turns it off and on. When resets are among the faults, clients reach the server through a TCP
proxy that can reset their connections, and :attr:`LocalAdmin.endpoint` is the proxy's.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent import futures
from pathlib import Path
from types import TracebackType

import grpc
from flyteidl.admin import matchable_resource_pb2
from flyteidl.service import (
    admin_pb2_grpc,
    auth_pb2_grpc,
    dataproxy_pb2_grpc,
    identity_pb2_grpc,
    signal_pb2_grpc,
)

from reconciler.localadmin.attributes import Attributes, default_execution_config
from reconciler.localadmin.clock import Clock, ManualClock, SystemClock
from reconciler.localadmin.dataproxy import BlobServer, TokenIssuer
from reconciler.localadmin.engine import Engine, Ticker
from reconciler.localadmin.executions import Executions
from reconciler.localadmin.faults import FaultInjector, Faults, ResetProxy
from reconciler.localadmin.metrics import Metrics
from reconciler.localadmin.named_entities import NamedEntities
from reconciler.localadmin.registry import DEFAULT_PROJECT, Registry
from reconciler.localadmin.scheduler import Scheduler
from reconciler.localadmin.service import (
    AdminService,
    AuthInterceptor,
    AuthMetadataService,
    AuthSettings,
    DataProxyService,
    IdentityService,
    SignalService,
)
from reconciler.localadmin.signals import Signals
from reconciler.localadmin.store import Store

MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class LocalAdmin:
    def __init__(
        self,
        db: str | Path | None = None,
        port: int = 0,
        *,
        data_dir: str | Path | None = None,
        clock: Clock | None = None,
        auth: AuthSettings | None = None,
        task_seconds: float = 1.0,
        scheduler: bool = False,
        tick_interval: float = 0.2,
        workers: int = 8,
        interceptors: Sequence[grpc.ServerInterceptor] = (),
        execution_defaults: matchable_resource_pb2.WorkflowExecutionConfig | None = None,
        faults: Faults | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self._own_data_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="localadmin-"))
        self.store = Store(db if db is not None else ":memory:")
        self.registry = Registry(self.store, self.clock)
        self.registry.ensure_project(DEFAULT_PROJECT)
        self.attributes = Attributes(
            self.store,
            self.clock,
            self.registry,
            execution_defaults if execution_defaults is not None else default_execution_config(),
        )
        self.executions = Executions(self.store, self.clock, self.registry, self.attributes)
        self.named_entities = NamedEntities(self.store)
        self.metrics = Metrics(self.registry, self.executions)
        self.signals = Signals(self.store, self.clock)
        self.engine = Engine(
            self.store,
            self.clock,
            self.registry,
            self.executions,
            self.signals,
            data_dir=self.data_dir,
            task_seconds=task_seconds,
        )
        self.scheduler = (
            Scheduler(self.registry, self.executions, self.clock) if scheduler else None
        )

        base_auth = auth or AuthSettings()
        issuer = (
            TokenIssuer(base_auth.clients, base_auth.client_tokens) if base_auth.clients else None
        )
        self.blobs = BlobServer(self.data_dir, self.clock, issuer)
        if base_auth.clients and not base_auth.token_endpoint:
            base_auth = AuthSettings(
                tokens=base_auth.tokens,
                clients=base_auth.clients,
                client_tokens=base_auth.client_tokens,
                token_endpoint=f"{self.blobs.base_url}/oauth2/token",
                client_id=base_auth.client_id,
                scopes=base_auth.scopes,
                audience=base_auth.audience,
            )
        self.auth = base_auth

        options = [
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            # flytekit's channel sends keepalive pings; tolerate them instead of GOAWAY
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", 1000),
            ("grpc.http2.max_ping_strikes", 0),
            # without this a second server could bind the same port and split the traffic
            ("grpc.so_reuseport", 0),
        ]
        self.proxy, self.fault_injector = _fault_injection(faults)
        injected = [self.fault_injector] if self.fault_injector is not None else []
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="localadmin-grpc"),
            # faults outermost (they stand for the network); then the extra interceptors, where
            # benchmarks inject latency and count calls; auth last
            interceptors=[*injected, *interceptors, AuthInterceptor(self.auth)],
            options=options,
        )
        admin_pb2_grpc.add_AdminServiceServicer_to_server(
            AdminService(
                self.registry,
                self.executions,
                self.auth,
                attributes=self.attributes,
                named_entities=self.named_entities,
                metrics=self.metrics,
            ),
            self._server,
        )
        signal_pb2_grpc.add_SignalServiceServicer_to_server(
            SignalService(self.signals, self.auth), self._server
        )
        dataproxy_pb2_grpc.add_DataProxyServiceServicer_to_server(
            DataProxyService(self.blobs, self.auth), self._server
        )
        auth_pb2_grpc.add_AuthMetadataServiceServicer_to_server(
            AuthMetadataService(self.auth), self._server
        )
        identity_pb2_grpc.add_IdentityServiceServicer_to_server(
            IdentityService(self.auth), self._server
        )
        try:
            self.port = self._server.add_insecure_port(f"127.0.0.1:{port}")
            if self.port == 0:
                raise OSError(f"cannot listen on 127.0.0.1:{port}")
            if self.proxy is not None:
                self.proxy.upstream = ("127.0.0.1", self.port)
        except BaseException:
            if self.proxy is not None:
                self.proxy.stop()
            self.blobs.close()  # nothing started yet: release the socket, the db, the temp dir
            self.store.close()
            if self._own_data_dir:
                shutil.rmtree(self.data_dir, ignore_errors=True)
            raise
        self._ticker: Ticker | None = None
        if not isinstance(self.clock, ManualClock):
            extra = self.scheduler.tick if self.scheduler is not None else None
            self._ticker = Ticker(self.engine, tick_interval, extra)
        self._started = False

    @property
    def endpoint(self) -> str:
        """Where clients connect: the gRPC port, or the reset proxy in front of it."""
        if self.proxy is not None:
            return self.proxy.endpoint
        return f"127.0.0.1:{self.port}"

    def start(self) -> LocalAdmin:
        self.blobs.start()
        self._server.start()
        if self.proxy is not None:
            self.proxy.start()
        if self._ticker is not None:
            self._ticker.start()
        self._started = True
        return self

    def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
        if self._started:
            if self.proxy is not None:
                self.proxy.stop()
            self._server.stop(grace=None).wait(timeout=10)
            self.blobs.stop()
        self._started = False
        self.store.close()
        if self._own_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def advance(self, seconds: float = 0.0) -> None:
        """Move a manual clock on and let the scheduler and engine do what is now due."""
        clock = self.clock
        if seconds and not isinstance(clock, ManualClock):
            raise TypeError("only a ManualClock can be advanced")
        target = clock.now() + seconds
        # Step from one due event to the next so that, say, a task finishing at t+1 lets its
        # downstream node start at t+1 and finish at t+2 within one advance(10).
        while True:
            if self.scheduler is not None:
                self.scheduler.tick()
            self.engine.tick()
            due = self.engine.next_due
            if due is None or due > target or not isinstance(clock, ManualClock):
                break
            clock.advance(max(due - clock.now(), 0.0))
        if isinstance(clock, ManualClock) and clock.now() < target:
            clock.advance(target - clock.now())
            if self.scheduler is not None:
                self.scheduler.tick()
            self.engine.tick()

    def ensure_projects(self, names: Iterable[str]) -> None:
        """Create each named project that does not exist yet. A real Admin's projects are made
        by its operators; a sandbox (``--endpoint local``) makes the ones the manifests name."""
        for name in sorted(set(names)):
            self.registry.ensure_project(name)

    def settle(self, within: float) -> None:
        """Do now what is due, and wait for the simulated work that falls due within
        ``within`` seconds of wall time, so that a client started next reads one consistent
        state (``--endpoint local``: between two commands no engine runs, so a task started by
        the last command finishes now). With a manual clock only what is due now is done."""
        self.advance(0)
        if isinstance(self.clock, ManualClock):
            return
        deadline = time.monotonic() + within
        while (due := self.engine.next_due) is not None:
            wait = due - self.clock.now()
            if time.monotonic() + wait > deadline:
                return
            time.sleep(max(wait, 0.0) + 0.01)
            self.advance(0)

    def wait_for_termination(self) -> None:
        self._server.wait_for_termination()

    def __enter__(self) -> LocalAdmin:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _fault_injection(faults: Faults | None) -> tuple[ResetProxy | None, FaultInjector | None]:
    """The proxy (for connection resets; its upstream is set once the port is known) and the
    interceptor that ``faults`` need."""
    if faults is None:
        return None, None
    proxy = ResetProxy(("127.0.0.1", 0)) if faults.needs_proxy else None
    return proxy, FaultInjector(faults, proxy.reset if proxy is not None else None)
