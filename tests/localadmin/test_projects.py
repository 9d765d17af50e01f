"""Projects and domains (flyteadmin project_manager.go, validation/project_validator.go)."""

from __future__ import annotations

import grpc
import pytest
from flyteidl.admin import project_pb2, task_pb2
from flyteidl.service import admin_pb2_grpc

from tests.localadmin import builders as b
from tests.localadmin.conftest import rpc_error

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

Project = project_pb2.Project


def _register(stub: admin_pb2_grpc.AdminServiceStub, project: project_pb2.Project) -> None:
    stub.RegisterProject(project_pb2.ProjectRegisterRequest(project=project))


def _ids(stub: admin_pb2_grpc.AdminServiceStub, filters: str = "") -> list[str]:
    listed = stub.ListProjects(project_pb2.ProjectListRequest(filters=filters))
    return [p.id for p in listed.projects]


def test_the_default_project_has_the_three_domains(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    project = stub.GetProject(project_pb2.ProjectGetRequest(id="flytesnacks"))
    assert [d.id for d in project.domains] == ["development", "staging", "production"]
    domains = stub.GetDomains(project_pb2.GetDomainRequest())
    assert [d.id for d in domains.domains] == ["development", "staging", "production"]


def test_registering_a_project_twice_is_already_exists(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    _register(stub, Project(id="analytics", name="Analytics"))
    error = rpc_error(lambda: _register(stub, Project(id="analytics", name="Again")))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS


@pytest.mark.parametrize(
    ("project", "message"),
    [
        (Project(id="Bad_Id", name="x"), "invalid project id [Bad_Id]"),
        (Project(id="ok", name=""), "missing project_name"),
        (Project(id="ok", name="x" * 65), "project_name cannot exceed 64 characters"),
        (Project(id="ok", name="x", domains=[project_pb2.Domain(id="d")]), "Domains are"),
    ],
)
def test_invalid_projects_are_refused(
    stub: admin_pb2_grpc.AdminServiceStub, project: project_pb2.Project, message: str
) -> None:
    error = rpc_error(lambda: _register(stub, project))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in error.details()


def test_archived_projects_are_hidden_and_refuse_registrations(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    _register(stub, Project(id="old", name="Old"))
    stub.UpdateProject(Project(id="old", name="Old", state=Project.ARCHIVED))
    assert _ids(stub) == ["flytesnacks"]
    assert _ids(stub, "eq(state,1)") == ["old"]
    identifier = b.task_id()
    identifier.project = "old"
    error = rpc_error(
        lambda: stub.CreateTask(task_pb2.TaskCreateRequest(id=identifier, spec=b.task_spec()))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "project [old] is not active" in error.details()


def test_updating_a_missing_project_is_not_found(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    error = rpc_error(lambda: stub.UpdateProject(Project(id="ghost", name="Ghost")))
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_unknown_domain_is_refused(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    identifier = b.task_id()
    identifier.domain = "qa"
    error = rpc_error(
        lambda: stub.CreateTask(task_pb2.TaskCreateRequest(id=identifier, spec=b.task_spec()))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "domain [qa] is unrecognized by system" in error.details()


def test_projects_list_in_identifier_order_with_paging(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    for identifier in ("zeta", "alpha"):
        _register(stub, Project(id=identifier, name=identifier))
    first = stub.ListProjects(project_pb2.ProjectListRequest(limit=2))
    assert [p.id for p in first.projects] == ["alpha", "flytesnacks"]
    rest = stub.ListProjects(project_pb2.ProjectListRequest(limit=2, token=first.token))
    assert [p.id for p in rest.projects] == ["zeta"]
    assert rest.token == ""
