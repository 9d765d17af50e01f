"""``Admin``: what the reconciler asks of FlyteAdmin, as a narrow typed interface (STYLE.md 7).

Every read and write the plan, apply and the commands make is one method here, with flyteidl
messages in and out: no method names as strings, no services. ``AdminClient`` (``client.py``)
implements it over gRPC and routes each method to AdminService, SignalService or
DataProxyService; the unit tests use an in-memory implementation (``tests/memadmin.py``).

Errors are Admin's, as ``reconciler.errors.AdminError`` subclasses: a get of something absent
raises ``NotFound``, a create of something that exists ``AlreadyExists`` (whose ``attempts``
says whether the call was retried: the entity may then be our own lost first attempt), and so
on (ADMIN-SEMANTICS.md). List methods return every item, following Admin's pages. The gets of
tasks, workflows and launch plans set the id's resource type themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from flyteidl.admin import (
    execution_pb2,
    launch_plan_pb2,
    matchable_resource_pb2,
    project_attributes_pb2,
    project_domain_attributes_pb2,
    project_pb2,
    signal_pb2,
    task_pb2,
    workflow_attributes_pb2,
    workflow_pb2,
)
from flyteidl.core import identifier_pb2
from flyteidl.service import dataproxy_pb2

NAMES_PER_CALL = 100
"""How many names a list-by-names method reads in one round trip (one filtered List); callers
that want those round trips to overlap split longer lists by it."""

ExecutionId = identifier_pb2.WorkflowExecutionIdentifier
AttributesAnswer = matchable_resource_pb2.MatchableAttributesConfiguration
"""Matchable attributes with the level they were found at (project, domain, workflow)."""


class Admin(Protocol):
    # --- reads ----------------------------------------------------------------------------

    def get_version(self) -> str:
        """Admin's control plane version ("unknown" when it does not say)."""
        ...

    def list_projects(self) -> list[project_pb2.Project]: ...

    def get_project(self, identifier: str) -> project_pb2.Project: ...

    def get_attributes(
        self, project: str, domain: str, workflow: str, resource_type: int
    ) -> AttributesAnswer:
        """The matching attributes Admin answers for a level: project (``domain`` and
        ``workflow`` empty), project-domain (``workflow`` empty) or workflow, through the
        level's ``Get*Attributes``. Admin answers from the most specific row at or above the
        level asked for, and the answer names the level it came from."""
        ...

    def list_matchable_attributes(self, resource_type: int) -> list[AttributesAnswer]:
        """Every row of one matchable resource type, as stored (every level, every project)."""
        ...

    def list_launch_plans(
        self, project: str, domain: str, names: Sequence[str]
    ) -> list[launch_plan_pb2.LaunchPlan]:
        """Every version of the launch plans of these names."""
        ...

    def list_active_launch_plans(
        self, project: str, domain: str
    ) -> list[launch_plan_pb2.LaunchPlan]: ...

    def list_executions(
        self, project: str, domain: str, names: Sequence[str]
    ) -> list[execution_pb2.Execution]:
        """The executions of these names (each name is one execution in a project/domain)."""
        ...

    def get_task(self, identifier: identifier_pb2.Identifier) -> task_pb2.Task: ...

    def get_workflow(self, identifier: identifier_pb2.Identifier) -> workflow_pb2.Workflow: ...

    def get_launch_plan(
        self, identifier: identifier_pb2.Identifier
    ) -> launch_plan_pb2.LaunchPlan: ...

    def get_execution(self, identifier: ExecutionId) -> execution_pb2.Execution: ...

    def get_execution_data(
        self, identifier: ExecutionId
    ) -> execution_pb2.WorkflowExecutionGetDataResponse: ...

    def get_execution_metrics(
        self, identifier: ExecutionId, depth: int
    ) -> execution_pb2.WorkflowExecutionGetMetricsResponse: ...

    def list_signals(self, execution: ExecutionId) -> list[signal_pb2.Signal]: ...

    def create_upload_location(
        self, request: dataproxy_pb2.CreateUploadLocationRequest
    ) -> dataproxy_pb2.CreateUploadLocationResponse:
        """Where a file goes (its ``native_url``, to compare with what a plan expects, and a
        signed URL to upload it to)."""
        ...

    def create_download_location(
        self, request: dataproxy_pb2.CreateDownloadLocationRequest
    ) -> dataproxy_pb2.CreateDownloadLocationResponse:
        """A signed URL to read a stored file (a run's output) from."""
        ...

    # --- writes ---------------------------------------------------------------------------

    def create_task(self, request: task_pb2.TaskCreateRequest) -> None: ...

    def create_workflow(self, request: workflow_pb2.WorkflowCreateRequest) -> None: ...

    def create_launch_plan(self, request: launch_plan_pb2.LaunchPlanCreateRequest) -> None: ...

    def update_launch_plan(self, request: launch_plan_pb2.LaunchPlanUpdateRequest) -> None: ...

    def create_execution(self, request: execution_pb2.ExecutionCreateRequest) -> None: ...

    def terminate_execution(self, request: execution_pb2.ExecutionTerminateRequest) -> None: ...

    def recover_execution(self, request: execution_pb2.ExecutionRecoverRequest) -> None: ...

    def relaunch_execution(self, request: execution_pb2.ExecutionRelaunchRequest) -> None: ...

    def set_signal(self, request: signal_pb2.SignalSetRequest) -> None: ...

    def register_project(self, request: project_pb2.ProjectRegisterRequest) -> None: ...

    def update_project(self, project: project_pb2.Project) -> None: ...

    def update_project_attributes(
        self, request: project_attributes_pb2.ProjectAttributesUpdateRequest
    ) -> None: ...

    def update_project_domain_attributes(
        self, request: project_domain_attributes_pb2.ProjectDomainAttributesUpdateRequest
    ) -> None: ...

    def update_workflow_attributes(
        self, request: workflow_attributes_pb2.WorkflowAttributesUpdateRequest
    ) -> None: ...

    def delete_project_attributes(
        self, request: project_attributes_pb2.ProjectAttributesDeleteRequest
    ) -> None: ...

    def delete_project_domain_attributes(
        self, request: project_domain_attributes_pb2.ProjectDomainAttributesDeleteRequest
    ) -> None: ...

    def delete_workflow_attributes(
        self, request: workflow_attributes_pb2.WorkflowAttributesDeleteRequest
    ) -> None: ...

    def upload(self, request: dataproxy_pb2.CreateUploadLocationRequest, data: bytes) -> None:
        """Put ``data`` where ``request`` says (an upload location, then the file sent there
        with its Content-MD5, as flytekit and flytectl upload code); content already at a
        content-addressed location is not sent again."""
        ...
