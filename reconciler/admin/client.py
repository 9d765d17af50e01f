"""``AdminClient``: the ``Admin`` interface (``api.py``) over gRPC; every call to FlyteAdmin
goes through here.

Each method is one RPC of AdminService, SignalService or DataProxyService (or, for a list,
one per page), named only here. Each call gets a deadline, transient failures (UNAVAILABLE,
DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED) are retried by ``RetryPolicy``, and every gRPC error
leaves as an ``AdminError`` (``status.translate``) that says how many attempts were made.
List RPCs follow Admin's page tokens, and ``fetch_all`` runs many reads with bounded
concurrency so that the planner reads many entities in few round trips of wall time.
"""

from __future__ import annotations

import base64
import http.client
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any, TypeVar

import grpc
from flyteidl.admin import (
    common_pb2,
    execution_pb2,
    launch_plan_pb2,
    matchable_resource_pb2,
    project_attributes_pb2,
    project_domain_attributes_pb2,
    project_pb2,
    signal_pb2,
    task_pb2,
    version_pb2,
    workflow_attributes_pb2,
    workflow_pb2,
)
from flyteidl.core import identifier_pb2
from flyteidl.service import (
    admin_pb2_grpc,
    dataproxy_pb2,
    dataproxy_pb2_grpc,
    signal_pb2_grpc,
)

from reconciler.admin import filters
from reconciler.admin.api import NAMES_PER_CALL, AttributesAnswer, ExecutionId
from reconciler.admin.auth import AuthMetadata, BearerAuth, TokenCache, discover, token_source
from reconciler.admin.channel import open_channel
from reconciler.admin.retry import RetryPolicy
from reconciler.admin.status import RETRYABLE, status_of, translate
from reconciler.config import Connection
from reconciler.errors import AlreadyExists, InternalError, ReconcilerError, Unauthenticated

PAGE_SIZE = 100
# One more than the names asked for: Admin sends a next-page token only after a full page, so
# a chunk of names that has at most one match each (executions; launch plans with one version)
# comes back in one call, where a page of exactly 100 would cost a second, empty one.
_PAGE_PER_NAMES = NAMES_PER_CALL + 1
UPLOAD_TIMEOUT = 120.0
_T = TypeVar("_T")
_R = TypeVar("_R")
_Listed = TypeVar(
    "_Listed",
    common_pb2.ResourceListRequest,
    project_pb2.ProjectListRequest,
    launch_plan_pb2.ActiveLaunchPlanListRequest,
    signal_pb2.SignalListRequest,
)

Notice = Callable[[str], object]
"""Tells the person at the terminal something (where to log in, the code to enter). Supplied by
the command layer, the only one that does terminal I/O."""

CallObserver = Callable[[str, str, float], None]
"""Told about every call attempt: ``(method, status code name, seconds)``; "OK" on success."""
call_observer: ContextVar[CallObserver | None] = ContextVar("call_observer", default=None)
"""The observer of clients opened in this context (the reconcile loop's RPC metrics): clients
are opened deep inside plan and apply, so the loop sets it once instead of threading it through
every function on the way."""


class AdminClient:
    """The ``Admin`` interface over gRPC.

    ``interactive``: a person at a terminal may log in (Pkce, DeviceFlow; without one those
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

    def _call(self, method: str, request: Any, *, service: str = "admin") -> Any:
        """``Service.method(request)`` with deadline, retries and error translation; an error
        says how many attempts were made (``AdminError.attempts``)."""
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
                return response
            except grpc.RpcError as exc:
                code = status_of(exc)
                self._observe(method, code.name, sent)
                if code in RETRYABLE and self._backoff(delays, started):
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

    def _backoff(self, delays: Iterator[float], started: float) -> bool:
        """Wait before the next attempt of something first tried at ``started`` (by
        ``self._clock``); False, without waiting, when the retry policy allows no more
        attempts or no more time."""
        delay = next(delays, None)
        if delay is None or self._clock() - started + delay >= self._retry.total_time:
            return False
        self._sleep(delay)
        return True

    def _observe(self, method: str, code: str, sent: float) -> None:
        if self._observer is not None:
            self._observer(method, code, time.perf_counter() - sent)

    def _pages(
        self,
        method: str,
        request: _Listed,
        items: str,
        *,
        service: str = "admin",
        page_size: int = PAGE_SIZE,
    ) -> list[Any]:
        """Every item of a List RPC, following Admin's tokens (a next token only after a full
        page; ADMIN-SEMANTICS.md, "Listing and filtering")."""
        page = type(request)()
        page.CopyFrom(request)
        page.limit = page_size
        page.token = ""
        seen: set[str] = set()
        found: list[Any] = []
        while True:
            response = self._call(method, page, service=service)
            found.extend(getattr(response, items))
            token = response.token
            if not token:
                return found
            if token in seen:
                raise InternalError(f"{method}: Admin returned page token {token!r} twice")
            seen.add(token)
            page.token = token

    def _named(
        self, method: str, items: str, project: str, domain: str, names: Sequence[str]
    ) -> list[Any]:
        """The items of a ``ResourceListRequest`` List RPC with one of ``names``: a filtered
        List per ``NAMES_PER_CALL`` names, and a List by name for each name Admin's filter
        grammar cannot hold (it has no escaping)."""
        batched = [n for n in names if filters.expressible(n)]
        found: list[Any] = []
        for start in range(0, len(batched), NAMES_PER_CALL):
            chunk = batched[start : start + NAMES_PER_CALL]
            request = common_pb2.ResourceListRequest(
                id=common_pb2.NamedEntityIdentifier(project=project, domain=domain),
                filters=str(filters.value_in("name", chunk)),
            )
            found.extend(self._pages(method, request, items, page_size=_PAGE_PER_NAMES))
        for name in names:
            if not filters.expressible(name):
                request = common_pb2.ResourceListRequest(
                    id=common_pb2.NamedEntityIdentifier(project=project, domain=domain, name=name)
                )
                found.extend(self._pages(method, request, items))
        return found

    # --- the Admin interface (api.Admin) ----------------------------------------------------

    def get_version(self) -> str:
        response = self._call("GetVersion", version_pb2.GetVersionRequest())
        return str(response.control_plane_version.Version or "unknown")

    def list_projects(self) -> list[project_pb2.Project]:
        return self._pages("ListProjects", project_pb2.ProjectListRequest(), "projects")

    def get_project(self, identifier: str) -> project_pb2.Project:
        return self._call("GetProject", project_pb2.ProjectGetRequest(id=identifier))  # type: ignore[no-any-return]

    def get_attributes(
        self, project: str, domain: str, workflow: str, resource_type: int
    ) -> AttributesAnswer:
        kind = matchable_resource_pb2.MatchableResource.Name(resource_type)
        found: Any
        if workflow:
            found = self._call(
                "GetWorkflowAttributes",
                workflow_attributes_pb2.WorkflowAttributesGetRequest(
                    project=project, domain=domain, workflow=workflow, resource_type=kind
                ),
            ).attributes
        elif domain:
            found = self._call(
                "GetProjectDomainAttributes",
                project_domain_attributes_pb2.ProjectDomainAttributesGetRequest(
                    project=project, domain=domain, resource_type=kind
                ),
            ).attributes
        else:
            found = self._call(
                "GetProjectAttributes",
                project_attributes_pb2.ProjectAttributesGetRequest(
                    project=project, resource_type=kind
                ),
            ).attributes
        return AttributesAnswer(
            attributes=found.matching_attributes,
            project=found.project,
            domain=getattr(found, "domain", ""),
            workflow=getattr(found, "workflow", ""),
        )

    def list_matchable_attributes(self, resource_type: int) -> list[AttributesAnswer]:
        request = matchable_resource_pb2.ListMatchableAttributesRequest(
            resource_type=matchable_resource_pb2.MatchableResource.Name(resource_type)
        )
        return list(self._call("ListMatchableAttributes", request).configurations)

    def list_launch_plans(
        self, project: str, domain: str, names: Sequence[str]
    ) -> list[launch_plan_pb2.LaunchPlan]:
        return self._named("ListLaunchPlans", "launch_plans", project, domain, names)

    def list_active_launch_plans(
        self, project: str, domain: str
    ) -> list[launch_plan_pb2.LaunchPlan]:
        request = launch_plan_pb2.ActiveLaunchPlanListRequest(project=project, domain=domain)
        return self._pages("ListActiveLaunchPlans", request, "launch_plans")

    def list_executions(
        self, project: str, domain: str, names: Sequence[str]
    ) -> list[execution_pb2.Execution]:
        return self._named("ListExecutions", "executions", project, domain, names)

    def get_task(self, identifier: identifier_pb2.Identifier) -> task_pb2.Task:
        return self._get("GetTask", identifier, identifier_pb2.TASK)  # type: ignore[no-any-return]

    def get_workflow(self, identifier: identifier_pb2.Identifier) -> workflow_pb2.Workflow:
        return self._get("GetWorkflow", identifier, identifier_pb2.WORKFLOW)  # type: ignore[no-any-return]

    def get_launch_plan(self, identifier: identifier_pb2.Identifier) -> launch_plan_pb2.LaunchPlan:
        return self._get("GetLaunchPlan", identifier, identifier_pb2.LAUNCH_PLAN)  # type: ignore[no-any-return]

    def _get(
        self,
        method: str,
        identifier: identifier_pb2.Identifier,
        resource: identifier_pb2.ResourceType,
    ) -> Any:
        """An entity by id; the resource type is set here, so callers need not."""
        request = common_pb2.ObjectGetRequest(id=identifier)
        request.id.resource_type = resource
        return self._call(method, request)

    def get_execution(self, identifier: ExecutionId) -> execution_pb2.Execution:
        request = execution_pb2.WorkflowExecutionGetRequest(id=identifier)
        return self._call("GetExecution", request)  # type: ignore[no-any-return]

    def get_execution_data(
        self, identifier: ExecutionId
    ) -> execution_pb2.WorkflowExecutionGetDataResponse:
        request = execution_pb2.WorkflowExecutionGetDataRequest(id=identifier)
        return self._call("GetExecutionData", request)  # type: ignore[no-any-return]

    def get_execution_metrics(
        self, identifier: ExecutionId, depth: int
    ) -> execution_pb2.WorkflowExecutionGetMetricsResponse:
        request = execution_pb2.WorkflowExecutionGetMetricsRequest(id=identifier, depth=depth)
        return self._call("GetExecutionMetrics", request)  # type: ignore[no-any-return]

    def list_signals(self, execution: ExecutionId) -> list[signal_pb2.Signal]:
        request = signal_pb2.SignalListRequest(workflow_execution_id=execution)
        return self._pages("ListSignals", request, "signals", service="signals")

    def create_upload_location(
        self, request: dataproxy_pb2.CreateUploadLocationRequest
    ) -> dataproxy_pb2.CreateUploadLocationResponse:
        return self._call("CreateUploadLocation", request, service="data_proxy")  # type: ignore[no-any-return]

    def create_download_location(
        self, request: dataproxy_pb2.CreateDownloadLocationRequest
    ) -> dataproxy_pb2.CreateDownloadLocationResponse:
        return self._call("CreateDownloadLocation", request, service="data_proxy")  # type: ignore[no-any-return]

    def create_task(self, request: task_pb2.TaskCreateRequest) -> None:
        self._call("CreateTask", request)

    def create_workflow(self, request: workflow_pb2.WorkflowCreateRequest) -> None:
        self._call("CreateWorkflow", request)

    def create_launch_plan(self, request: launch_plan_pb2.LaunchPlanCreateRequest) -> None:
        self._call("CreateLaunchPlan", request)

    def update_launch_plan(self, request: launch_plan_pb2.LaunchPlanUpdateRequest) -> None:
        self._call("UpdateLaunchPlan", request)

    def create_execution(self, request: execution_pb2.ExecutionCreateRequest) -> None:
        self._call("CreateExecution", request)

    def terminate_execution(self, request: execution_pb2.ExecutionTerminateRequest) -> None:
        self._call("TerminateExecution", request)

    def recover_execution(self, request: execution_pb2.ExecutionRecoverRequest) -> None:
        self._call("RecoverExecution", request)

    def relaunch_execution(self, request: execution_pb2.ExecutionRelaunchRequest) -> None:
        self._call("RelaunchExecution", request)

    def set_signal(self, request: signal_pb2.SignalSetRequest) -> None:
        self._call("SetSignal", request, service="signals")

    def register_project(self, request: project_pb2.ProjectRegisterRequest) -> None:
        self._call("RegisterProject", request)

    def update_project(self, project: project_pb2.Project) -> None:
        self._call("UpdateProject", project)

    def update_project_attributes(
        self, request: project_attributes_pb2.ProjectAttributesUpdateRequest
    ) -> None:
        self._call("UpdateProjectAttributes", request)

    def update_project_domain_attributes(
        self, request: project_domain_attributes_pb2.ProjectDomainAttributesUpdateRequest
    ) -> None:
        self._call("UpdateProjectDomainAttributes", request)

    def update_workflow_attributes(
        self, request: workflow_attributes_pb2.WorkflowAttributesUpdateRequest
    ) -> None:
        self._call("UpdateWorkflowAttributes", request)

    def delete_project_attributes(
        self, request: project_attributes_pb2.ProjectAttributesDeleteRequest
    ) -> None:
        self._call("DeleteProjectAttributes", request)

    def delete_project_domain_attributes(
        self, request: project_domain_attributes_pb2.ProjectDomainAttributesDeleteRequest
    ) -> None:
        self._call("DeleteProjectDomainAttributes", request)

    def delete_workflow_attributes(
        self, request: workflow_attributes_pb2.WorkflowAttributesDeleteRequest
    ) -> None:
        self._call("DeleteWorkflowAttributes", request)

    def upload(self, request: dataproxy_pb2.CreateUploadLocationRequest, data: bytes) -> None:
        """Upload ``data`` to the location DataProxy gives for ``request``, with an HTTP PUT.

        The location is content-addressed (``filename_root`` names the content), so content
        already there is not sent again: asked for without an MD5, Admin answers ALREADY_EXISTS
        when a file is at that path (flyteadmin ``dataproxy/service.go``; a file of other
        content could not be at this root). For the same reason a PUT is safe to repeat (it
        writes the same bytes to the same place), so it is retried as gRPC calls are: on a 5xx
        or 429 answer, a connection failure or a timeout, with the client's ``RetryPolicy``. A
        403 is what a signed URL that expired meanwhile gets (the local Admin checks the
        expiry as a bucket does): the location is asked for once more, and the PUT made to the
        new URL. Errors name the file, never the URL: a signed URL is a credential."""
        what = request.filename or "the upload"
        if request.filename and request.filename_root:
            probe = dataproxy_pb2.CreateUploadLocationRequest()
            probe.CopyFrom(request)
            probe.ClearField("content_md5")
            try:
                self.create_upload_location(probe)
            except AlreadyExists:
                return
        location = self.create_upload_location(request)
        started = self._clock()
        delays = self._retry.delays()
        renewed = False
        attempt = 0
        while True:
            attempt += 1
            status, why = self._put(location, request.content_md5, data)
            if status is not None and 200 <= status < 300:
                return
            if status == 403 and not renewed:
                renewed = True
                location = self.create_upload_location(request)
                continue
            transient = status is None or status >= 500 or status == 429
            if transient and self._backoff(delays, started):
                continue
            tries = "1 attempt" if attempt == 1 else f"{attempt} attempts"
            raise ReconcilerError(f"uploading {what} failed after {tries}: {why}")

    @staticmethod
    def _put(
        location: dataproxy_pb2.CreateUploadLocationResponse, md5: bytes, data: bytes
    ) -> tuple[int | None, str]:
        """One PUT of ``data`` to a signed URL: the HTTP status (None when no answer came, 0
        when no request could be made) and, for a failure, why, in words that hold no part of
        the URL (nor the blob store's error body, which for a bad signature may quote it)."""
        headers = {"Content-MD5": base64.b64encode(md5).decode("ascii")}
        headers.update(dict(location.headers))
        try:
            put = urllib.request.Request(
                location.signed_url, data=data, method="PUT", headers=headers
            )
            with urllib.request.urlopen(put, timeout=UPLOAD_TIMEOUT) as response:
                status = int(response.status)
                return status, f"the blob store answered HTTP {status}"
        except urllib.error.HTTPError as exc:
            return exc.code, f"the blob store answered HTTP {exc.code} {exc.reason}"
        except urllib.error.URLError as exc:
            return None, f"no answer from the blob store ({exc.reason})"
        except (OSError, http.client.HTTPException) as exc:
            return None, f"no answer from the blob store ({type(exc).__name__}: {exc})"
        except ValueError:  # its message would quote the URL
            return 0, "DataProxy gave a signed URL that is not a URL"


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
