"""Named entities (flyteadmin manager/impl/named_entity_manager.go,
validation/named_entity_validator.go, repositories/gormimpl/named_entity_repo.go)."""

from __future__ import annotations

import grpc
import pytest
from flyteidl.admin import common_pb2, task_pb2, workflow_pb2
from flyteidl.core import identifier_pb2
from flyteidl.service import admin_pb2_grpc

from tests.localadmin import builders as b
from tests.localadmin.conftest import register_basics, rpc_error

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

WORKFLOW = identifier_pb2.WORKFLOW
ACTIVE = common_pb2.NAMED_ENTITY_ACTIVE
ARCHIVED = common_pb2.NAMED_ENTITY_ARCHIVED


def _id(name: str) -> common_pb2.NamedEntityIdentifier:
    return common_pb2.NamedEntityIdentifier(project=b.PROJECT, domain=b.DOMAIN, name=name)


def _get(
    stub: admin_pb2_grpc.AdminServiceStub, name: str, kind: int = WORKFLOW
) -> common_pb2.NamedEntity:
    return stub.GetNamedEntity(common_pb2.NamedEntityGetRequest(resource_type=kind, id=_id(name)))


def _update(
    stub: admin_pb2_grpc.AdminServiceStub,
    name: str,
    description: str = "",
    state: int = ACTIVE,
    kind: int = WORKFLOW,
) -> None:
    stub.UpdateNamedEntity(
        common_pb2.NamedEntityUpdateRequest(
            resource_type=kind,
            id=_id(name),
            metadata=common_pb2.NamedEntityMetadata(description=description, state=state),
        )
    )


def _list(
    stub: admin_pb2_grpc.AdminServiceStub,
    kind: int = WORKFLOW,
    *,
    limit: int = 100,
    filters: str = "",
    token: str = "",
    sort: common_pb2.Sort | None = None,
) -> tuple[list[str], str]:
    request = common_pb2.NamedEntityListRequest(
        resource_type=kind,
        project=b.PROJECT,
        domain=b.DOMAIN,
        limit=limit,
        filters=filters,
        token=token,
    )
    if sort is not None:
        request.sort_by.CopyFrom(sort)
    listed = stub.ListNamedEntities(request)
    return [e.id.name for e in listed.entities], listed.token


def _workflows(stub: admin_pb2_grpc.AdminServiceStub, *names: str) -> None:
    stub.CreateTask(task_pb2.TaskCreateRequest(id=b.task_id(), spec=b.task_spec()))
    for name in names:
        for version in ("v1", "v2"):  # several versions are still one named entity
            stub.CreateWorkflow(
                workflow_pb2.WorkflowCreateRequest(
                    id=b.workflow_id(name, version), spec=b.workflow_spec()
                )
            )


def test_a_registered_name_is_an_active_entity_without_description(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub)
    for kind, name in (
        (identifier_pb2.TASK, "t"),
        (WORKFLOW, "wf"),
        (identifier_pb2.LAUNCH_PLAN, "lp"),
    ):
        entity = _get(stub, name, kind)
        assert entity.resource_type == kind
        assert entity.id == _id(name)
        assert entity.metadata == common_pb2.NamedEntityMetadata(state=ACTIVE)


def test_an_unregistered_name_is_not_found(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    register_basics(stub)
    for call in (lambda: _get(stub, "lp"), lambda: _update(stub, "nope", "x")):
        error = rpc_error(call)
        assert error.code() == grpc.StatusCode.NOT_FOUND
        assert error.details() == "entry not found"


def test_update_sets_description_and_state(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    register_basics(stub)
    _update(stub, "wf", "Nightly load", ARCHIVED)
    assert _get(stub, "wf").metadata == common_pb2.NamedEntityMetadata(
        description="Nightly load", state=ARCHIVED
    )
    # metadata is per resource type: the task named like nothing else is untouched
    assert _get(stub, "t", identifier_pb2.TASK).metadata.state == ACTIVE
    # gorm's Assign skips zero values: an empty description keeps the stored one
    _update(stub, "wf", "", ACTIVE)
    assert _get(stub, "wf").metadata == common_pb2.NamedEntityMetadata(
        description="Nightly load", state=ACTIVE
    )


def test_listing_pages_over_distinct_names(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    _workflows(stub, "a", "b", "c")
    assert _list(stub, limit=2) == (["a", "b"], "2")
    assert _list(stub, limit=2, token="2") == (["c"], "")
    descending = common_pb2.Sort(key="name", direction=common_pb2.Sort.DESCENDING)
    assert _list(stub, sort=descending)[0] == ["c", "b", "a"]


def test_listing_hides_generated_names_unless_filters_are_given(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub)
    # executing a task registers Admin's .flytegen.t workflow and launch plan
    stub.CreateExecution(
        b.execution_request("solo", b.task_id(), inputs=b.literal_map(a=b.int_literal(1)))
    )
    assert _list(stub)[0] == ["wf"]
    assert _list(stub, filters="eq(project,flytesnacks)")[0] == ["wf", ".flytegen.t"]
    assert _list(stub, identifier_pb2.TASK)[0] == ["t"]


def test_state_filters_treat_entities_without_metadata_as_active(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    _workflows(stub, "a", "b", "c")
    _update(stub, "b", "old", ARCHIVED)
    _update(stub, "c", "kept", ACTIVE)
    assert _list(stub)[0] == ["a", "b", "c"]  # no implicit state filter
    assert _list(stub, filters="eq(state,0)")[0] == ["a", "c"]
    assert _list(stub, filters="eq(state,1)")[0] == ["b"]
    assert _list(stub, filters="contains(description,ep)")[0] == ["c"]


def test_filters_apply_after_paging(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    # named_entity_repo.go pages the names in a sub-query and filters the joined rows after:
    # a short page has no next token even though more names match
    _workflows(stub, "a", "b", "c")
    _update(stub, "b", "", ARCHIVED)
    assert _list(stub, limit=2, filters="eq(state,0)") == (["a"], "")
    assert _list(stub, limit=2, token="2", filters="eq(state,0)") == (["c"], "")


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (
            common_pb2.NamedEntityListRequest(project=b.PROJECT, domain=b.DOMAIN, limit=1),
            "invalid value for resource_type",
        ),
        (
            common_pb2.NamedEntityListRequest(resource_type=WORKFLOW, domain=b.DOMAIN, limit=1),
            "missing project",
        ),
        (
            common_pb2.NamedEntityListRequest(
                resource_type=WORKFLOW, project=b.PROJECT, domain=b.DOMAIN
            ),
            "invalid value for limit",
        ),
        (
            common_pb2.NamedEntityListRequest(
                resource_type=identifier_pb2.DATASET, project=b.PROJECT, domain=b.DOMAIN, limit=1
            ),
            "Cannot list entity names for resource type: DATASET",
        ),
        (
            common_pb2.NamedEntityListRequest(
                resource_type=WORKFLOW, project=b.PROJECT, domain=b.DOMAIN, limit=1, token="x"
            ),
            "invalid pagination token x for ListNamedEntities",
        ),
        (
            common_pb2.NamedEntityListRequest(
                resource_type=WORKFLOW,
                project=b.PROJECT,
                domain=b.DOMAIN,
                limit=1,
                filters="eq(version,v1)",
            ),
            "is invalid filter",
        ),
    ],
)
def test_invalid_list_requests_are_invalid_argument(
    stub: admin_pb2_grpc.AdminServiceStub,
    request_: common_pb2.NamedEntityListRequest,
    message: str,
) -> None:
    error = rpc_error(lambda: stub.ListNamedEntities(request_))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (error.details() or "")


def test_invalid_get_and_update_requests_are_invalid_argument(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub)
    missing_name = common_pb2.NamedEntityGetRequest(
        resource_type=WORKFLOW,
        id=common_pb2.NamedEntityIdentifier(project=b.PROJECT, domain=b.DOMAIN),
    )
    no_metadata = common_pb2.NamedEntityUpdateRequest(resource_type=WORKFLOW, id=_id("wf"))
    for call, message in (
        (lambda: stub.GetNamedEntity(missing_name), "missing name"),
        (lambda: _get(stub, "wf", identifier_pb2.UNSPECIFIED), "invalid value for resource_type"),
        (lambda: stub.UpdateNamedEntity(no_metadata), "missing metadata"),
    ):
        error = rpc_error(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert message in (error.details() or "")
