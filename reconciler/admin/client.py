"""``AdminClient``: every call to FlyteAdmin goes through here.

Each call gets a deadline, transient failures (UNAVAILABLE, DEADLINE_EXCEEDED,
RESOURCE_EXHAUSTED) are retried by ``RetryPolicy``, and every gRPC error leaves as an
``AdminError`` (``status.translate``). List RPCs are exposed as iterators that follow Admin's
page tokens, and ``fetch_all`` runs many reads with bounded concurrency so that the planner
reads many entities in few round trips of wall time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from flyteidl.admin import (
    common_pb2,
    execution_pb2,
    launch_plan_pb2,
    node_execution_pb2,
    project_pb2,
    signal_pb2,
    version_pb2,
)
from flyteidl.core import identifier_pb2
from flyteidl.service import (
    admin_pb2_grpc,
    dataproxy_pb2_grpc,
    signal_pb2_grpc,
)

from reconciler.admin.auth import AuthMetadata, BearerAuth, TokenCache, discover, token_source
from reconciler.admin.channel import open_channel
from reconciler.admin.filters import Filters
from reconciler.admin.retry import RetryPolicy
from reconciler.admin.status import RETRYABLE, status_of, translate
from reconciler.config import Connection
from reconciler.errors import AlreadyExists, InternalError, Unauthenticated

PAGE_SIZE = 100
_T = TypeVar("_T")
_R = TypeVar("_R")

Notice = Callable[[str], object]
"""Tells the person at the terminal something (where to log in, the code to enter). Supplied by
the command layer, the only one that does terminal I/O."""

CallObserver = Callable[[str, str, float], None]
"""Told about every call attempt: ``(method, status code name, seconds)``; "OK" on success."""
call_observer: ContextVar[CallObserver | None] = ContextVar("call_observer", default=None)
"""The observer of clients opened in this context (the reconcile loop's RPC metrics): clients
are opened deep inside plan and apply, so the loop sets it once instead of threading it through
every function on the way."""


@dataclass(frozen=True)
class CallResult:
    """A response and whether it took more than one attempt (see ``create``)."""

    response: Any
    attempts: int


@dataclass(frozen=True)
class Created:
    """What a create did. ``existed``: Admin already held the same thing, so this call made
    nothing; with ``attempts`` > 1 that may be our own earlier attempt whose answer was lost,
    with 1 it was another client (or an earlier run)."""

    response: Any | None
    existed: bool
    attempts: int


class AdminClient:
    """``interactive``: a person at a terminal may log in (Pkce, DeviceFlow; without one those
    modes fail with an error that says so), told what to do through ``notify`` and, for Pkce,
    a browser opened by ``open_url`` (default: ``webbrowser``). The commands pass what they
    know of the terminal; a client made without them never waits on a person."""

    def __init__(
        self,
        connection: Connection,
        *,
        retry: RetryPolicy | None = None,
        interactive: bool = False,
        notify: Notice | None = None,
        open_url: Callable[[str], object] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        observer: CallObserver | None = None,
    ) -> None:
        self.connection = connection
        self._observer = observer or call_observer.get()
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._plain = open_channel(connection)
        self._auth: AuthMetadata | None = None
        self._auth_lock = threading.Lock()
        source = token_source(
            connection,
            self._auth_metadata,
            interactive=interactive,
            notify=notify or _untold,
            open_url=open_url,
        )
        if source is None:
            self._channel = self._plain
        else:
            key = self._auth.metadata_key if self._auth else "authorization"
            self._channel = open_channel(connection, [BearerAuth(TokenCache(source, clock), key)])
        self.admin = admin_pb2_grpc.AdminServiceStub(self._channel)
        self.signals = signal_pb2_grpc.SignalServiceStub(self._channel)
        self.data_proxy = dataproxy_pb2_grpc.DataProxyServiceStub(self._channel)

    def _auth_metadata(self) -> AuthMetadata:
        with self._auth_lock:
            if self._auth is None:
                self._auth = discover(
                    self._plain, self.connection.call_timeout, self.connection.endpoint
                )
            return self._auth

    def close(self) -> None:
        self._channel.close()
        if self._plain is not self._channel:
            self._plain.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- calls ------------------------------------------------------------------------------

    def call(self, method: str, request: Any, *, service: str = "admin") -> Any:
        """``Service.method(request)`` with deadline, retries and error translation."""
        return self.call_with_attempts(method, request, service=service).response

    def call_with_attempts(
        self, method: str, request: Any, *, service: str = "admin"
    ) -> CallResult:
        stub = getattr(self, service)
        function = getattr(stub, method)
        started = self._clock()
        delays = self._retry.delays()
        attempt = 0
        while True:
            attempt += 1
            sent = time.perf_counter()
            try:
                response = function(request, timeout=self.connection.call_timeout)
                self._observe(method, "OK", sent)
                return CallResult(response, attempt)
            except grpc.RpcError as exc:
                code = status_of(exc)
                self._observe(method, code.name, sent)
                delay = next(delays, None) if code in RETRYABLE else None
                if delay is not None and self._clock() - started + delay < self._retry.total_time:
                    self._sleep(delay)
                    continue
                error = translate(exc, method=method, endpoint=self.connection.endpoint)
                error.attempts = attempt
                if isinstance(error, Unauthenticated) and self.connection.auth_type is None:
                    raise Unauthenticated(
                        f"{error.details}; this Admin requires authentication: set "
                        "admin.authType (ClientSecret, Pkce, ExternalCommand or DeviceFlow)",
                        method=method,
                        details=error.details,
                    ) from exc
                raise error from exc

    def _observe(self, method: str, code: str, sent: float) -> None:
        if self._observer is not None:
            self._observer(method, code, time.perf_counter() - sent)

    def create(
        self,
        method: str,
        request: Any,
        *,
        stored: Callable[[], _T],
        same: Callable[[_T], bool],
        service: str = "admin",
    ) -> Created:
        """A create that is safe to retry: an ALREADY_EXISTS whose stored spec equals ours is
        success (our earlier attempt, or another client with the same spec, got there first);
        any other ALREADY_EXISTS is raised (DESIGN.md, Guarantees)."""
        try:
            done = self.call_with_attempts(method, request, service=service)
        except AlreadyExists as exc:
            if same(stored()):
                return Created(None, True, exc.attempts)
            raise
        return Created(done.response, False, done.attempts)

    # --- reads ------------------------------------------------------------------------------

    def pages(
        self,
        method: str,
        request: Any,
        items: str,
        *,
        service: str = "admin",
        page_size: int = PAGE_SIZE,
    ) -> Iterator[Any]:
        """Every item of a List RPC, following Admin's tokens (a next token only after a full
        page; ADMIN-SEMANTICS.md, "Listing and filtering")."""
        page = type(request)()
        page.CopyFrom(request)
        page.limit = page_size
        page.token = ""
        seen: set[str] = set()
        while True:
            response = self.call(method, page, service=service)
            yield from getattr(response, items)
            token = response.token
            if not token:
                return
            if token in seen:
                raise InternalError(f"{method}: Admin returned page token {token!r} twice")
            seen.add(token)
            page.token = token

    def get_version(self) -> str:
        response = self.call("GetVersion", version_pb2.GetVersionRequest())
        return str(response.control_plane_version.Version or "unknown")

    def list_projects(self) -> Iterator[project_pb2.Project]:
        return self.pages("ListProjects", project_pb2.ProjectListRequest(), "projects")

    def list_launch_plans(
        self,
        project: str,
        domain: str,
        name: str = "",
        filters: Filters | None = None,
        *,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[launch_plan_pb2.LaunchPlan]:
        return self._list_named(
            "ListLaunchPlans", "launch_plans", project, domain, name, filters, page_size
        )

    def list_active_launch_plans(
        self, project: str, domain: str
    ) -> Iterator[launch_plan_pb2.LaunchPlan]:
        request = launch_plan_pb2.ActiveLaunchPlanListRequest(project=project, domain=domain)
        return self.pages("ListActiveLaunchPlans", request, "launch_plans")

    def list_executions(
        self,
        project: str,
        domain: str,
        filters: Filters | None = None,
        *,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[execution_pb2.Execution]:
        return self._list_named(
            "ListExecutions", "executions", project, domain, "", filters, page_size
        )

    def list_workflows(
        self, project: str, domain: str, name: str = "", filters: Filters | None = None
    ) -> Iterator[Any]:
        return self._list_named("ListWorkflows", "workflows", project, domain, name, filters)

    def list_tasks(
        self, project: str, domain: str, name: str = "", filters: Filters | None = None
    ) -> Iterator[Any]:
        return self._list_named("ListTasks", "tasks", project, domain, name, filters)

    def _list_named(
        self,
        method: str,
        items: str,
        project: str,
        domain: str,
        name: str,
        filters: Filters | None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[Any]:
        """A ``ResourceListRequest`` List RPC (launch plans, workflows, tasks, executions)."""
        request = common_pb2.ResourceListRequest(
            id=common_pb2.NamedEntityIdentifier(project=project, domain=domain, name=name),
            filters=str(filters or ""),
        )
        return self.pages(method, request, items, page_size=page_size)

    def list_signals(
        self, execution: identifier_pb2.WorkflowExecutionIdentifier, filters: Filters | None = None
    ) -> Iterator[signal_pb2.Signal]:
        request = signal_pb2.SignalListRequest(
            workflow_execution_id=execution, filters=str(filters or "")
        )
        return self.pages("ListSignals", request, "signals", service="signals")

    def list_node_executions(
        self, execution: identifier_pb2.WorkflowExecutionIdentifier
    ) -> Iterator[node_execution_pb2.NodeExecution]:
        request = node_execution_pb2.NodeExecutionListRequest(workflow_execution_id=execution)
        return self.pages("ListNodeExecutions", request, "node_executions")


def _untold(text: str) -> None:
    """``notify`` of a client no person watches: there is nobody to tell."""


def fetch_all(
    function: Callable[[_T], _R], items: Iterable[_T], *, parallelism: int = 8
) -> list[_R]:
    """``[function(item) for item in items]`` with at most ``parallelism`` calls in flight.

    gRPC channels are thread-safe, so reads that cannot be batched into one List call still
    overlap their round trips. Results keep the order of ``items``; the first error raised is
    re-raised once the calls in flight have finished.
    """
    work: Sequence[_T] = list(items)
    if parallelism <= 1 or len(work) <= 1:
        return [function(item) for item in work]
    with ThreadPoolExecutor(max_workers=min(parallelism, len(work))) as pool:
        futures = [pool.submit(function, item) for item in work]
        return [future.result() for future in futures]
