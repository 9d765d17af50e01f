"""``LocalAdmin``: the local FlyteAdmin put together and served on 127.0.0.1.

One object owns the SQLite store, the logic modules (projects, entities, launch plans,
executions, ...; made by ``_build_logic``), the simulated engine, the blob/token HTTP server and
the gRPC server (a thread pool; message limits 64 MiB).
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

import dataclasses
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
from reconciler.localadmin.entities import Entities
from reconciler.localadmin.executions import Executions
from reconciler.localadmin.faults import FaultInjector, Faults, ResetProxy
from reconciler.localadmin.launch_plans import LaunchPlans
from reconciler.localadmin.metrics import Metrics
from reconciler.localadmin.named_entities import NamedEntities
from reconciler.localadmin.node_executions import NodeExecutions
from reconciler.localadmin.projects import DEFAULT_PROJECT, Projects
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
_SERVER_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    # flytekit's channel sends keepalive pings; tolerate them instead of GOAWAY
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 1000),
    ("grpc.http2.max_ping_strikes", 0),
    # without this a second server could bind the same port and split the traffic
    ("grpc.so_reuseport", 0),
]


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
        # absolute: blobs and outputs are named by file:// URIs, which a relative path cannot be
        # (`--endpoint local` gives a path relative to the working directory)
        self.data_dir = (
            Path(data_dir).absolute() if data_dir else Path(tempfile.mkdtemp(prefix="localadmin-"))
        )
        self.store = Store(db if db is not None else ":memory:")
        self._build_logic(
            execution_defaults if execution_defaults is not None else default_execution_config()
        )
        self.engine = Engine(
            self.store,
            self.clock,
            self.executions,
            self.node_executions,
            self.signals,
            data_dir=self.data_dir,
            task_seconds=task_seconds,
        )
        self.scheduler = (
            Scheduler(self.launch_plans, self.executions, self.clock) if scheduler else None
        )
        self.proxy, self.fault_injector = _fault_injection(faults)
        self.blobs, self.auth = _blobs_and_auth(
            auth or AuthSettings(), self.data_dir, self.clock, self.fault_injector
        )
        self._server = self._grpc_server(workers, interceptors)
        self.port = self._listen(port)
        self._ticker: Ticker | None = None
        if not isinstance(self.clock, ManualClock):
            extra = self.scheduler.tick if self.scheduler is not None else None
            self._ticker = Ticker(self.engine, tick_interval, extra)
        self._started = False

    def _build_logic(
        self, execution_defaults: matchable_resource_pb2.WorkflowExecutionConfig
    ) -> None:
        """The logic modules over the one store, each made after those it uses."""
        self.projects = Projects(self.store, self.clock)
        self.projects.ensure_project(DEFAULT_PROJECT)
        self.entities = Entities(self.store, self.clock, self.projects)
        self.launch_plans = LaunchPlans(self.store, self.clock, self.projects, self.entities)
        self.attributes = Attributes(self.store, self.clock, self.projects, execution_defaults)
        self.node_executions = NodeExecutions(self.store)
        self.executions = Executions(
            self.store,
            self.clock,
            self.projects,
            self.entities,
            self.launch_plans,
            self.attributes,
            self.node_executions,
        )
        self.named_entities = NamedEntities(self.store)
        self.metrics = Metrics(self.entities, self.executions, self.node_executions)
        self.signals = Signals(self.store, self.clock)

    def _grpc_server(
        self, workers: int, interceptors: Sequence[grpc.ServerInterceptor]
    ) -> grpc.Server:
        """The gRPC server with every servicer added; not listening yet."""
        injected = [self.fault_injector] if self.fault_injector is not None else []
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="localadmin-grpc"),
            # faults outermost (they stand for the network); then the extra interceptors, where
            # benchmarks inject latency and count calls; auth last
            interceptors=[*injected, *interceptors, AuthInterceptor(self.auth)],
            options=_SERVER_OPTIONS,
        )
        admin_pb2_grpc.add_AdminServiceServicer_to_server(
            AdminService(
                self.auth,
                projects=self.projects,
                entities=self.entities,
                launch_plans=self.launch_plans,
                executions=self.executions,
                node_executions=self.node_executions,
                attributes=self.attributes,
                named_entities=self.named_entities,
                metrics=self.metrics,
            ),
            server,
        )
        signal_pb2_grpc.add_SignalServiceServicer_to_server(
            SignalService(self.signals, self.auth), server
        )
        dataproxy_pb2_grpc.add_DataProxyServiceServicer_to_server(
            DataProxyService(self.blobs, self.auth), server
        )
        auth_pb2_grpc.add_AuthMetadataServiceServicer_to_server(
            AuthMetadataService(self.auth), server
        )
        identity_pb2_grpc.add_IdentityServiceServicer_to_server(IdentityService(self.auth), server)
        return server

    def _listen(self, port: int) -> int:
        """Bind the gRPC server to 127.0.0.1:``port`` (0: any free port) and return the port.
        When that fails, release what was taken so far (nothing is started yet): the blob
        server's socket, the database, the temporary data directory."""
        try:
            bound: int = self._server.add_insecure_port(f"127.0.0.1:{port}")
            if bound == 0:
                raise OSError(f"cannot listen on 127.0.0.1:{port}")
            if self.proxy is not None:
                self.proxy.upstream = ("127.0.0.1", bound)
        except BaseException:
            if self.proxy is not None:
                self.proxy.stop()
            self.blobs.close()
            self.store.close()
            if self._own_data_dir:
                shutil.rmtree(self.data_dir, ignore_errors=True)
            raise
        return bound

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
            self.projects.ensure_project(name)

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


def _blobs_and_auth(
    auth: AuthSettings, data_dir: Path, clock: Clock, faults: FaultInjector | None
) -> tuple[BlobServer, AuthSettings]:
    """The blob/token HTTP server (its PUTs faulted by ``faults``, as gRPC calls are), and
    ``auth`` with its token endpoint pointing there when OAuth2 clients are configured and no
    endpoint is given."""
    issuer = TokenIssuer(auth.clients, auth.client_tokens) if auth.clients else None
    blobs = BlobServer(data_dir, clock, issuer, faults)
    if auth.clients and not auth.token_endpoint:
        auth = dataclasses.replace(auth, token_endpoint=f"{blobs.base_url}/oauth2/token")
    return blobs, auth


def _fault_injection(faults: Faults | None) -> tuple[ResetProxy | None, FaultInjector | None]:
    """The proxy (for connection resets; its upstream is set once the port is known) and the
    interceptor that ``faults`` need."""
    if faults is None:
        return None, None
    proxy = ResetProxy(("127.0.0.1", 0)) if faults.needs_proxy else None
    return proxy, FaultInjector(faults, proxy.reset if proxy is not None else None)
