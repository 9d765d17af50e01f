"""Filter grammar, sorting and paging (ADMIN-SEMANTICS.md, Listing and filtering)."""

from __future__ import annotations

import grpc
import pytest
from flyteidl.admin import common_pb2, launch_plan_pb2
from flyteidl.service import admin_pb2_grpc

from reconciler.localadmin import LocalAdmin
from tests.localadmin import builders as b
from tests.localadmin.conftest import list_request, register_basics, rpc_error

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _names(stub: admin_pb2_grpc.AdminServiceStub, filters: str = "", **kwargs: object) -> list[str]:
    response = stub.ListExecutions(list_request(filters=filters, **kwargs))  # type: ignore[arg-type]
    return [e.id.name for e in response.executions]


@pytest.fixture
def three_runs(admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub) -> None:
    """r1 (labels team=a) succeeded; r2 (team=b) and r3 queued; r3 on launch plan ``other``."""
    register_basics(stub)
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(
            id=b.lp_id("other"), spec=b.lp_spec(defaults={"a": b.int_literal(1)})
        )
    )
    stub.CreateExecution(b.execution_request("r1", labels={"team": "a"}))
    admin.advance(10)
    stub.CreateExecution(b.execution_request("r2", labels={"team": "b"}))
    stub.CreateExecution(b.execution_request("r3", launch_plan=b.lp_id("other")))


@pytest.mark.usefixtures("three_runs")
@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ("eq(phase,SUCCEEDED)", ["r1"]),
        ("ne(phase,SUCCEEDED)", ["r2", "r3"]),
        ("value_in(phase,QUEUED;SUCCEEDED)", ["r1", "r2", "r3"]),
        ("value_not_in(phase,QUEUED)", ["r1"]),
        ("eq(launch_plan.name,other)", ["r3"]),
        ("eq(phase,QUEUED)+ne(launch_plan.name,other)", ["r2"]),
        ("contains(name,r)", ["r1", "r2", "r3"]),
        ("not_like(name,r1)", ["r2", "r3"]),
        ("value_in(execution_tag.key,team)", ["r1", "r2"]),
        ("eq(execution_tag.value,b)", ["r2"]),
        ("eq(admin_tag.name,team)", ["r1", "r2"]),
        ("gte(created_at,2026-01-01T00:00:10Z)", ["r2", "r3"]),
        ("lt(execution.created_at,2026-01-01T00:00:10Z)", ["r1"]),
        ("eq(workflow.name,wf)", ["r1", "r2", "r3"]),
        ("eq(name,x' OR '1'='1)", []),
    ],
)
def test_execution_filters(
    stub: admin_pb2_grpc.AdminServiceStub, filters: str, expected: list[str]
) -> None:
    assert _names(stub, filters) == expected


@pytest.mark.usefixtures("three_runs")
@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ("eq(phase)", "invalid value for filters"),
        ("phase=RUNNING", "invalid value for filters"),
        ("like(phase,RUNNING)", "unrecognized filter function: like"),
        ("eq(bogus,1)", "'execution.bogus' is invalid filter"),
        ("eq(node_execution.phase,RUNNING)", "'node_execution' entity is not allowed"),
        ("eq(phase,A;B)", "invalid single value filter expression"),
        ("gt(created_at,yesterday)", "RFC3339"),
        ("gt(duration,forever)", "Failed to parse duration"),
    ],
)
def test_bad_filters_are_invalid_argument(
    stub: admin_pb2_grpc.AdminServiceStub, filters: str, message: str
) -> None:
    error = rpc_error(lambda: _names(stub, filters))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in error.details()


@pytest.mark.usefixtures("three_runs")
def test_sort_by_a_column_in_either_direction(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    descending = common_pb2.Sort(key="execution_name", direction=common_pb2.Sort.DESCENDING)
    ascending = common_pb2.Sort(key="execution_name", direction=common_pb2.Sort.ASCENDING)
    assert _names(stub, sort=descending) == ["r3", "r2", "r1"]
    assert _names(stub, sort=ascending) == ["r1", "r2", "r3"]


@pytest.mark.usefixtures("three_runs")
@pytest.mark.parametrize("key", ["nope", "name", ""])
def test_sort_key_must_be_a_column(stub: admin_pb2_grpc.AdminServiceStub, key: str) -> None:
    # "name" filters as an alias of execution_name, but only real columns sort (sorting.go)
    error = rpc_error(lambda: _names(stub, sort=common_pb2.Sort(key=key)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == f"invalid sort key '{key}'"


@pytest.mark.usefixtures("three_runs")
def test_listing_executions_by_name(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    assert _names(stub, name="r2") == ["r2"]


@pytest.mark.usefixtures("three_runs")
def test_token_is_an_offset_returned_only_for_a_full_page(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    first = stub.ListExecutions(list_request(limit=2))
    assert [e.id.name for e in first.executions] == ["r1", "r2"]
    assert first.token == "2"
    second = stub.ListExecutions(list_request(limit=2, token=first.token))
    assert [e.id.name for e in second.executions] == ["r3"]
    assert second.token == ""


@pytest.mark.usefixtures("three_runs")
def test_a_page_that_ends_exactly_full_still_gets_a_token(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    page = stub.ListExecutions(list_request(limit=3))
    assert page.token == "3"
    assert stub.ListExecutions(list_request(limit=3, token="3")).executions == []


def test_limit_must_be_positive(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    error = rpc_error(lambda: stub.ListExecutions(list_request(limit=0)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "limit" in error.details()


def test_token_that_is_not_an_offset_is_invalid(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    error = rpc_error(lambda: stub.ListExecutions(list_request(token="abc")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_launch_plans_filter_by_state_and_workflow(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    register_basics(stub)
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(id=b.lp_id(version="v2"), spec=b.lp_spec())
    )
    stub.UpdateLaunchPlan(
        launch_plan_pb2.LaunchPlanUpdateRequest(
            id=b.lp_id(version="v2"), state=launch_plan_pb2.ACTIVE
        )
    )
    active = stub.ListLaunchPlans(list_request(filters="eq(state,1)", name="lp"))
    assert [p.id.version for p in active.launch_plans] == ["v2"]
    by_workflow = stub.ListLaunchPlans(list_request(filters="eq(workflow.name,wf)"))
    assert len(by_workflow.launch_plans) == 2
    schedules = stub.ListLaunchPlans(list_request(filters="eq(schedule_type,CRON)"))
    assert schedules.launch_plans == []
