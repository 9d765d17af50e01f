"""gRPC servicers of the local Admin, on flyteidl's generated base classes.

Servicers are thin: unpack the request, call the logic (``projects``, ``entities``,
``launch_plans``, ``executions``, ``attributes``, ``named_entities``, ``metrics``, ``signals``,
the blob store), pack the response. :func:`_admin_call` is the one place where an
:class:`~reconciler.localadmin.errors.AdminError` becomes a gRPC status via ``context.abort``
(with a ``grpc-status-details-bin`` trailer when Admin attaches details such as
``CreateWorkflowFailureReason``), and where an unexpected exception becomes ``INTERNAL``.
Methods not overridden keep the base classes' ``UNIMPLEMENTED``. :class:`AuthInterceptor`
implements the optional required-auth mode; the auth metadata endpoints always stay open.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from flyteidl.admin import (
    common_pb2,
    execution_pb2,
    launch_plan_pb2,
    matchable_resource_pb2,
    node_execution_pb2,
    project_attributes_pb2,
    project_domain_attributes_pb2,
    project_pb2,
    signal_pb2,
    task_execution_pb2,
    task_pb2,
    version_pb2,
    workflow_attributes_pb2,
    workflow_pb2,
)
from flyteidl.service import (
    admin_pb2_grpc,
    auth_pb2,
    auth_pb2_grpc,
    dataproxy_pb2,
    dataproxy_pb2_grpc,
    identity_pb2,
    identity_pb2_grpc,
    signal_pb2_grpc,
)
from google.protobuf import any_pb2
from google.rpc import status_pb2

from reconciler.localadmin.attributes import Attributes
from reconciler.localadmin.dataproxy import BlobServer
from reconciler.localadmin.entities import Entities
from reconciler.localadmin.errors import AdminError, invalid
from reconciler.localadmin.executions import Caller, Executions
from reconciler.localadmin.launch_plans import LaunchPlans
from reconciler.localadmin.metrics import Metrics
from reconciler.localadmin.named_entities import NamedEntities
from reconciler.localadmin.node_executions import NodeExecutions
from reconciler.localadmin.projects import Projects
from reconciler.localadmin.protos import timestamp
from reconciler.localadmin.signals import Signals

log = logging.getLogger(__name__)

VERSION = "v1.16.8-localadmin"
AUTH_METADATA_KEYS = ("authorization", "flyte-authorization")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class AuthSettings:
    """Auth of the local Admin. With no ``tokens`` every call is allowed.

    ``tokens`` maps an accepted bearer token to the principal it stands for. ``clients`` maps
    OAuth2 client ids to secrets for the token endpoint, which hands out ``client_tokens``.
    """

    tokens: dict[str, str] = field(default_factory=dict)
    clients: dict[str, str] = field(default_factory=dict)
    client_tokens: dict[str, str] = field(default_factory=dict)
    token_endpoint: str = ""
    client_id: str = "flytectl"
    scopes: tuple[str, ...] = ("all",)
    audience: str = ""

    @property
    def required(self) -> bool:
        return bool(self.tokens)


def bearer_token(metadata: Any) -> str:
    for key, value in metadata or ():
        if key.lower() in AUTH_METADATA_KEYS and isinstance(value, str):
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer":
                return token.strip()
    return ""


def _admin_call(method: F) -> F:
    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except AdminError as exc:
            if exc.details:
                details = []
                for detail in exc.details:
                    packed = any_pb2.Any()
                    packed.Pack(detail)
                    details.append(packed)
                status = status_pb2.Status(
                    code=exc.code.value[0], message=exc.message, details=details
                )
                # what grpcio-status's rpc_status.to_status does, without the extra dependency
                context.set_trailing_metadata(
                    (("grpc-status-details-bin", status.SerializeToString()),)
                )
            context.abort(exc.code, exc.message)
        except Exception as exc:
            # A bug here must not surface as UNKNOWN: flytekit's auth interceptor treats UNKNOWN
            # like UNAUTHENTICATED and starts an interactive login. Admin reports its own
            # failures as INTERNAL. (Servicer methods never call context.abort themselves.)
            log.exception("%s failed", method.__name__)
            context.abort(grpc.StatusCode.INTERNAL, f"{type(exc).__name__}: {exc}")

    return wrapper  # type: ignore[return-value]


class _Base:
    def __init__(self, auth: AuthSettings) -> None:
        self.auth = auth

    def caller(self, context: grpc.ServicerContext) -> Caller:
        token = bearer_token(context.invocation_metadata())
        return Caller(self.auth.tokens.get(token, ""))


class AdminService(_Base, admin_pb2_grpc.AdminServiceServicer):
    def __init__(
        self,
        auth: AuthSettings,
        *,
        projects: Projects,
        entities: Entities,
        launch_plans: LaunchPlans,
        executions: Executions,
        node_executions: NodeExecutions,
        attributes: Attributes,
        named_entities: NamedEntities,
        metrics: Metrics,
    ) -> None:
        super().__init__(auth)
        self.projects = projects
        self.entities = entities
        self.launch_plans = launch_plans
        self.executions = executions
        self.node_executions = node_executions
        self.attributes = attributes
        self.named_entities = named_entities
        self.metrics = metrics

    # -- projects ----------------------------------------------------------------------------

    @_admin_call
    def RegisterProject(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.projects.register_project(request.project)
        return project_pb2.ProjectRegisterResponse()

    @_admin_call
    def GetProject(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.projects.get_project(request.id)

    @_admin_call
    def UpdateProject(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.projects.update_project(request)
        return project_pb2.ProjectUpdateResponse()

    @_admin_call
    def ListProjects(self, request: Any, context: grpc.ServicerContext) -> Any:
        projects, token = self.projects.list_projects(
            request.limit, request.token, request.filters, _sort(request)
        )
        return project_pb2.Projects(projects=projects, token=token)

    @_admin_call
    def GetDomains(self, request: Any, context: grpc.ServicerContext) -> Any:
        return project_pb2.GetDomainsResponse(
            domains=[project_pb2.Domain(id=d, name=d) for d in self.projects.domains]
        )

    @_admin_call
    def GetVersion(self, request: Any, context: grpc.ServicerContext) -> Any:
        return version_pb2.GetVersionResponse(
            control_plane_version=version_pb2.Version(Version=VERSION, Build="localadmin")
        )

    # -- tasks -------------------------------------------------------------------------------

    @_admin_call
    def CreateTask(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.entities.create_task(request.id, request.spec)
        return task_pb2.TaskCreateResponse()

    @_admin_call
    def GetTask(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.entities.get_task(request.id)

    @_admin_call
    def ListTasks(self, request: Any, context: grpc.ServicerContext) -> Any:
        rows, token = self.entities.list_entities("tasks", request)
        tasks = [task_pb2.Task.FromString(r["data"]) for r in rows]
        return task_pb2.TaskList(tasks=tasks, token=token)

    @_admin_call
    def ListTaskIds(self, request: Any, context: grpc.ServicerContext) -> Any:
        ids, token = self.entities.list_ids("tasks", request)
        return common_pb2.NamedEntityIdentifierList(entities=ids, token=token)

    # -- workflows ---------------------------------------------------------------------------

    @_admin_call
    def CreateWorkflow(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.entities.create_workflow(request.id, request.spec)
        return workflow_pb2.WorkflowCreateResponse()

    @_admin_call
    def GetWorkflow(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.entities.get_workflow(request.id)

    @_admin_call
    def ListWorkflows(self, request: Any, context: grpc.ServicerContext) -> Any:
        rows, token = self.entities.list_entities("workflows", request)
        workflows = []
        for row in rows:
            workflow = workflow_pb2.Workflow.FromString(row["data"])
            # Admin lists workflows without their compiled closure (workflow_manager.go)
            workflow.closure.ClearField("compiled_workflow")
            workflows.append(workflow)
        return workflow_pb2.WorkflowList(workflows=workflows, token=token)

    @_admin_call
    def ListWorkflowIds(self, request: Any, context: grpc.ServicerContext) -> Any:
        ids, token = self.entities.list_ids("workflows", request)
        return common_pb2.NamedEntityIdentifierList(entities=ids, token=token)

    # -- launch plans ------------------------------------------------------------------------

    @_admin_call
    def CreateLaunchPlan(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.launch_plans.create_launch_plan(request.id, request.spec)
        return launch_plan_pb2.LaunchPlanCreateResponse()

    @_admin_call
    def GetLaunchPlan(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.launch_plans.get_launch_plan(request.id)

    @_admin_call
    def GetActiveLaunchPlan(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.launch_plans.get_active_launch_plan(request.id)

    @_admin_call
    def ListActiveLaunchPlans(self, request: Any, context: grpc.ServicerContext) -> Any:
        plans, token = self.launch_plans.list_active_launch_plans(request)
        return launch_plan_pb2.LaunchPlanList(launch_plans=plans, token=token)

    @_admin_call
    def ListLaunchPlans(self, request: Any, context: grpc.ServicerContext) -> Any:
        rows, token = self.entities.list_entities("launch_plans", request)
        plans = [launch_plan_pb2.LaunchPlan.FromString(r["data"]) for r in rows]
        return launch_plan_pb2.LaunchPlanList(launch_plans=plans, token=token)

    @_admin_call
    def ListLaunchPlanIds(self, request: Any, context: grpc.ServicerContext) -> Any:
        ids, token = self.entities.list_ids("launch_plans", request)
        return common_pb2.NamedEntityIdentifierList(entities=ids, token=token)

    @_admin_call
    def UpdateLaunchPlan(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.launch_plans.update_launch_plan(request.id, request.state)
        return launch_plan_pb2.LaunchPlanUpdateResponse()

    # -- executions --------------------------------------------------------------------------

    @_admin_call
    def CreateExecution(self, request: Any, context: grpc.ServicerContext) -> Any:
        identifier = self.executions.create(
            request.project,
            request.domain,
            request.name,
            request.spec,
            request.inputs,
            caller=self.caller(context),
        )
        return execution_pb2.ExecutionCreateResponse(id=identifier)

    @_admin_call
    def RelaunchExecution(self, request: Any, context: grpc.ServicerContext) -> Any:
        identifier = self.executions.relaunch(
            request.id,
            request.name,
            caller=self.caller(context),
            overwrite_cache=request.overwrite_cache,
        )
        return execution_pb2.ExecutionCreateResponse(id=identifier)

    @_admin_call
    def RecoverExecution(self, request: Any, context: grpc.ServicerContext) -> Any:
        metadata = request.metadata if request.HasField("metadata") else None
        identifier = self.executions.recover(
            request.id, request.name, metadata, caller=self.caller(context)
        )
        return execution_pb2.ExecutionCreateResponse(id=identifier)

    @_admin_call
    def GetExecution(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.executions.get(request.id)

    @_admin_call
    def UpdateExecution(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.executions.update_state(request.id, request.state, self.caller(context))
        return execution_pb2.ExecutionUpdateResponse()

    @_admin_call
    def GetExecutionData(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.executions.get_data(request.id)

    @_admin_call
    def ListExecutions(self, request: Any, context: grpc.ServicerContext) -> Any:
        executions, token = self.executions.list_executions(request)
        return execution_pb2.ExecutionList(executions=executions, token=token)

    @_admin_call
    def TerminateExecution(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.executions.terminate(request.id, request.cause, self.caller(context))
        return execution_pb2.ExecutionTerminateResponse()

    # -- node and task executions ------------------------------------------------------------

    @_admin_call
    def GetNodeExecution(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.node_executions.get_node(request.id)

    @_admin_call
    def ListNodeExecutions(self, request: Any, context: grpc.ServicerContext) -> Any:
        nodes, token = self.node_executions.list_nodes(request)
        return node_execution_pb2.NodeExecutionList(node_executions=nodes, token=token)

    @_admin_call
    def GetNodeExecutionData(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.node_executions.get_node_data(request.id)

    @_admin_call
    def ListTaskExecutions(self, request: Any, context: grpc.ServicerContext) -> Any:
        tasks, token = self.node_executions.list_tasks(request)
        return task_execution_pb2.TaskExecutionList(task_executions=tasks, token=token)

    @_admin_call
    def GetTaskExecution(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.node_executions.get_task(request.id)

    @_admin_call
    def GetTaskExecutionData(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.node_executions.get_task_data(request.id)

    @_admin_call
    def GetExecutionMetrics(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.metrics.execution_metrics(request.id, request.depth)

    # -- named entities ----------------------------------------------------------------------

    @_admin_call
    def GetNamedEntity(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.named_entities.get(request.resource_type, request.id)

    @_admin_call
    def ListNamedEntities(self, request: Any, context: grpc.ServicerContext) -> Any:
        entities, token = self.named_entities.list_entities(request)
        return common_pb2.NamedEntityList(entities=entities, token=token)

    @_admin_call
    def UpdateNamedEntity(self, request: Any, context: grpc.ServicerContext) -> Any:
        metadata = request.metadata if request.HasField("metadata") else None
        self.named_entities.update(request.resource_type, request.id, metadata)
        return common_pb2.NamedEntityUpdateResponse()

    # -- matchable attributes ----------------------------------------------------------------

    @_admin_call
    def UpdateProjectAttributes(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.attributes.update_project(_attributes(request))
        return project_attributes_pb2.ProjectAttributesUpdateResponse()

    @_admin_call
    def GetProjectAttributes(self, request: Any, context: grpc.ServicerContext) -> Any:
        found = self.attributes.get_project(request.project, request.resource_type)
        return project_attributes_pb2.ProjectAttributesGetResponse(attributes=found)

    @_admin_call
    def DeleteProjectAttributes(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.attributes.delete_project(request.project, request.resource_type)
        return project_attributes_pb2.ProjectAttributesDeleteResponse()

    @_admin_call
    def UpdateProjectDomainAttributes(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.attributes.update_project_domain(_attributes(request))
        return project_domain_attributes_pb2.ProjectDomainAttributesUpdateResponse()

    @_admin_call
    def GetProjectDomainAttributes(self, request: Any, context: grpc.ServicerContext) -> Any:
        found = self.attributes.get_project_domain(
            request.project, request.domain, request.resource_type
        )
        return project_domain_attributes_pb2.ProjectDomainAttributesGetResponse(attributes=found)

    @_admin_call
    def DeleteProjectDomainAttributes(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.attributes.delete_project_domain(
            request.project, request.domain, request.resource_type
        )
        return project_domain_attributes_pb2.ProjectDomainAttributesDeleteResponse()

    @_admin_call
    def UpdateWorkflowAttributes(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.attributes.update_workflow(_attributes(request))
        return workflow_attributes_pb2.WorkflowAttributesUpdateResponse()

    @_admin_call
    def GetWorkflowAttributes(self, request: Any, context: grpc.ServicerContext) -> Any:
        found = self.attributes.get_workflow(
            request.project, request.domain, request.workflow, request.resource_type
        )
        return workflow_attributes_pb2.WorkflowAttributesGetResponse(attributes=found)

    @_admin_call
    def DeleteWorkflowAttributes(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.attributes.delete_workflow(
            request.project, request.domain, request.workflow, request.resource_type
        )
        return workflow_attributes_pb2.WorkflowAttributesDeleteResponse()

    @_admin_call
    def ListMatchableAttributes(self, request: Any, context: grpc.ServicerContext) -> Any:
        configurations = self.attributes.list_all(request.resource_type)
        return matchable_resource_pb2.ListMatchableAttributesResponse(configurations=configurations)


class SignalService(_Base, signal_pb2_grpc.SignalServiceServicer):
    def __init__(self, signals: Signals, auth: AuthSettings) -> None:
        super().__init__(auth)
        self.signals = signals

    @_admin_call
    def GetOrCreateSignal(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.signals.get_or_create(request.id, request.type)

    @_admin_call
    def ListSignals(self, request: Any, context: grpc.ServicerContext) -> Any:
        signals, token = self.signals.list_signals(request)
        return signal_pb2.SignalList(signals=signals, token=token)

    @_admin_call
    def SetSignal(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.signals.set(request.id, request.value, request.HasField("value"))
        return signal_pb2.SignalSetResponse()


class DataProxyService(_Base, dataproxy_pb2_grpc.DataProxyServiceServicer):
    DEFAULT_EXPIRY = 3600.0

    def __init__(self, blobs: BlobServer, auth: AuthSettings) -> None:
        super().__init__(auth)
        self.blobs = blobs

    @_admin_call
    def CreateUploadLocation(self, request: Any, context: grpc.ServicerContext) -> Any:
        """flyteadmin/dataproxy/service.go CreateUploadLocation, checks and layout included."""
        if not request.project or not request.domain:
            raise invalid("project and domain are required parameters")
        if not request.content_md5 and not request.filename_root:
            raise invalid("content_md5 or filename_root is a required parameter")
        md5_b64 = base64.b64encode(request.content_md5).decode()
        # Admin uses the padded base32 of the MD5; the padding is dropped here because "=" would
        # be percent-encoded in the file:// native URL and trip up naive path handling
        prefix = request.filename_root or base64.b32encode(request.content_md5).decode().rstrip("=")
        filename = request.filename or secrets.token_hex(10)  # Admin: a random name
        relative = "/".join((request.project, request.domain, prefix, filename))
        target = self.blobs.path_for(relative)
        if request.filename and request.filename_root and target.is_file():
            # a deterministic path may only be rewritten with the hash of what is there
            existing = base64.b64encode(hashlib.md5(target.read_bytes()).digest()).decode()
            if not request.content_md5 or existing != md5_b64:
                raise AdminError(
                    grpc.StatusCode.ALREADY_EXISTS,
                    f"file already exists at location [{target.as_uri()}], specify a matching "
                    "hash if you wish to rewrite",
                )
        expires_in = request.expires_in.ToNanoseconds() / 1e9 or self.DEFAULT_EXPIRY
        url, expires = self.blobs.sign(relative, expires_in, md5_b64 if request.content_md5 else "")
        response = dataproxy_pb2.CreateUploadLocationResponse(
            signed_url=url, native_url=target.as_uri(), expires_at=timestamp(expires)
        )
        if request.content_md5 and request.add_content_md5_metadata:
            response.headers["Content-MD5"] = md5_b64
        return response

    @_admin_call
    def CreateDownloadLocation(self, request: Any, context: grpc.ServicerContext) -> Any:
        relative = self.blobs.relative(request.native_url)
        if relative is None:
            raise invalid(f"{request.native_url} is not a blob of this local Admin")
        expires_in = request.expires_in.ToNanoseconds() / 1e9 or self.DEFAULT_EXPIRY
        url, expires = self.blobs.sign(relative, expires_in)
        return dataproxy_pb2.CreateDownloadLocationResponse(
            signed_url=url, expires_at=timestamp(expires)
        )


class AuthMetadataService(auth_pb2_grpc.AuthMetadataServiceServicer):
    """Always reachable without a token: clients call it to find out how to get one."""

    def __init__(self, auth: AuthSettings) -> None:
        self.auth = auth

    def GetOAuth2Metadata(self, request: Any, context: grpc.ServicerContext) -> Any:
        endpoint = self.auth.token_endpoint
        issuer = endpoint.rsplit("/oauth2/", 1)[0] if endpoint else ""
        return auth_pb2.OAuth2MetadataResponse(
            issuer=issuer,
            authorization_endpoint=f"{issuer}/oauth2/authorize",
            token_endpoint=endpoint,
            response_types_supported=["code", "token"],
            scopes_supported=list(self.auth.scopes),
            token_endpoint_auth_methods_supported=["client_secret_basic"],
            jwks_uri=f"{issuer}/oauth2/jwks",
            code_challenge_methods_supported=["S256"],
            grant_types_supported=["client_credentials", "refresh_token", "authorization_code"],
        )

    def GetPublicClientConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        return auth_pb2.PublicClientAuthConfigResponse(
            client_id=self.auth.client_id,
            redirect_uri="http://localhost:53593/callback",
            scopes=list(self.auth.scopes),
            authorization_metadata_key="flyte-authorization",
            audience=self.auth.audience,
        )


class IdentityService(_Base, identity_pb2_grpc.IdentityServiceServicer):
    def UserInfo(self, request: Any, context: grpc.ServicerContext) -> Any:
        principal = self.caller(context).principal
        return identity_pb2.UserInfoResponse(subject=principal, name=principal)


class AuthInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """UNAUTHENTICATED for calls without an accepted bearer token, except auth metadata."""

    OPEN_PREFIX = "/flyteidl.service.AuthMetadataService/"

    def __init__(self, auth: AuthSettings) -> None:
        self.auth = auth

    def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
        if not self.auth.required or handler_call_details.method.startswith(self.OPEN_PREFIX):
            return continuation(handler_call_details)
        token = bearer_token(handler_call_details.invocation_metadata)
        if token in self.auth.tokens:
            return continuation(handler_call_details)

        def deny(request: Any, context: grpc.ServicerContext) -> Any:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "request unauthenticated")

        return grpc.unary_unary_rpc_method_handler(deny)


def _attributes(request: Any) -> Any:
    """The request's attributes, or None when it sends none (Admin: "missing attributes")."""
    return request.attributes if request.HasField("attributes") else None


def _sort(request: Any) -> common_pb2.Sort | None:
    return request.sort_by if request.HasField("sort_by") else None
