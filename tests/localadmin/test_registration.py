"""Registration rules of tasks, workflows and launch plans (ADMIN-SEMANTICS.md, Registration
and Launch plans), over real gRPC."""

from __future__ import annotations

import grpc
import pytest
from flyteidl.admin import common_pb2, launch_plan_pb2, schedule_pb2, task_pb2, workflow_pb2
from flyteidl.service import admin_pb2_grpc
from google.rpc import status_pb2

from tests.localadmin import builders as b
from tests.localadmin.conftest import register_basics, rpc_error

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

ACTIVE = launch_plan_pb2.ACTIVE
INACTIVE = launch_plan_pb2.INACTIVE


def _details(error: grpc.RpcError) -> workflow_pb2.CreateWorkflowFailureReason:
    trailers = dict(error.trailing_metadata() or ())  # type: ignore[attr-defined]
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    reason = workflow_pb2.CreateWorkflowFailureReason()
    status.details[0].Unpack(reason)
    return reason


def test_identical_task_registered_twice_is_already_exists(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    request = task_pb2.TaskCreateRequest(id=b.task_id(), spec=b.task_spec())
    stub.CreateTask(request)
    error = rpc_error(lambda: stub.CreateTask(request))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "identical structure already exists" in error.details()


def test_different_task_at_same_version_is_invalid_argument_with_a_diff(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    stub.CreateTask(task_pb2.TaskCreateRequest(id=b.task_id(), spec=b.task_spec()))
    changed = task_pb2.TaskCreateRequest(id=b.task_id(), spec=b.task_spec(image="python:3.12"))
    error = rpc_error(lambda: stub.CreateTask(changed))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "t task with different structure already exists" in error.details()
    assert "python:3.12" in error.details()


def test_task_in_unknown_project_is_refused(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    identifier = b.task_id()
    identifier.project = "nope"
    error = rpc_error(
        lambda: stub.CreateTask(task_pb2.TaskCreateRequest(id=identifier, spec=b.task_spec()))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "project [nope]" in error.details()


def test_identical_workflow_is_already_exists_with_failure_reason(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub)
    request = workflow_pb2.WorkflowCreateRequest(id=b.workflow_id(), spec=b.workflow_spec())
    error = rpc_error(lambda: stub.CreateWorkflow(request))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert _details(error).HasField("exists_identical_structure")


def test_different_workflow_is_invalid_argument_with_failure_reason(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub)
    changed = b.workflow_spec(inputs={"a": b.INT, "extra": b.STR})
    request = workflow_pb2.WorkflowCreateRequest(id=b.workflow_id(), spec=changed)
    error = rpc_error(lambda: stub.CreateWorkflow(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "wf workflow with different structure already exists" in error.details()
    assert _details(error).HasField("exists_different_structure")


def test_workflow_referencing_a_missing_task_fails_to_compile(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    request = workflow_pb2.WorkflowCreateRequest(id=b.workflow_id(), spec=b.workflow_spec())
    error = rpc_error(lambda: stub.CreateWorkflow(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "failed to compile workflow" in error.details()
    assert "missing entity of type task" in error.details()


def test_workflow_closure_holds_template_and_referenced_tasks(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub)
    workflow = stub.GetWorkflow(common_pb2.ObjectGetRequest(id=b.workflow_id()))
    compiled = workflow.closure.compiled_workflow
    assert compiled.primary.template.id == b.workflow_id()
    assert [t.template.id.name for t in compiled.tasks] == ["t"]
    assert list(compiled.primary.connections.upstream["n0"].ids) == ["start-node"]


def test_new_launch_plan_is_inactive(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    register_basics(stub)
    plan = stub.GetLaunchPlan(common_pb2.ObjectGetRequest(id=b.lp_id()))
    assert plan.closure.state == INACTIVE


def test_identical_and_different_launch_plans(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    register_basics(stub)
    same = launch_plan_pb2.LaunchPlanCreateRequest(
        id=b.lp_id(), spec=b.lp_spec(defaults={"a": b.int_literal(1)})
    )
    assert rpc_error(lambda: stub.CreateLaunchPlan(same)).code() == grpc.StatusCode.ALREADY_EXISTS
    other = launch_plan_pb2.LaunchPlanCreateRequest(
        id=b.lp_id(), spec=b.lp_spec(defaults={"a": b.int_literal(2)})
    )
    error = rpc_error(lambda: stub.CreateLaunchPlan(other))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "launch plan with different structure already exists" in error.details()


def test_activating_a_version_deactivates_the_previous_one(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub)
    second = b.lp_id(version="v2")
    stub.CreateLaunchPlan(launch_plan_pb2.LaunchPlanCreateRequest(id=second, spec=b.lp_spec()))
    stub.UpdateLaunchPlan(launch_plan_pb2.LaunchPlanUpdateRequest(id=b.lp_id(), state=ACTIVE))
    stub.UpdateLaunchPlan(launch_plan_pb2.LaunchPlanUpdateRequest(id=second, state=ACTIVE))
    first = stub.GetLaunchPlan(common_pb2.ObjectGetRequest(id=b.lp_id()))
    active = stub.GetActiveLaunchPlan(
        launch_plan_pb2.ActiveLaunchPlanRequest(
            id=common_pb2.NamedEntityIdentifier(project=b.PROJECT, domain=b.DOMAIN, name="lp")
        )
    )
    assert first.closure.state == INACTIVE
    assert active.id.version == "v2"
    listed = stub.ListActiveLaunchPlans(
        launch_plan_pb2.ActiveLaunchPlanListRequest(project=b.PROJECT, domain=b.DOMAIN, limit=10)
    )
    assert [p.id.version for p in listed.launch_plans] == ["v2"]


def test_reactivating_the_active_version_is_harmless(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    register_basics(stub)
    request = launch_plan_pb2.LaunchPlanUpdateRequest(id=b.lp_id(), state=ACTIVE)
    stub.UpdateLaunchPlan(request)
    stub.UpdateLaunchPlan(request)
    assert stub.GetLaunchPlan(common_pb2.ObjectGetRequest(id=b.lp_id())).closure.state == ACTIVE


def test_get_active_launch_plan_without_one_is_not_found(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub)
    request = launch_plan_pb2.ActiveLaunchPlanRequest(
        id=common_pb2.NamedEntityIdentifier(project=b.PROJECT, domain=b.DOMAIN, name="lp")
    )
    assert rpc_error(lambda: stub.GetActiveLaunchPlan(request)).code() == grpc.StatusCode.NOT_FOUND


def test_list_active_launch_plans_needs_a_positive_limit(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    request = launch_plan_pb2.ActiveLaunchPlanListRequest(project=b.PROJECT, domain=b.DOMAIN)
    error = rpc_error(lambda: stub.ListActiveLaunchPlans(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "limit" in error.details()


def test_unknown_launch_plan_state_is_invalid_argument(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub)
    request = launch_plan_pb2.LaunchPlanUpdateRequest(id=b.lp_id(), state=7)  # type: ignore[arg-type]
    assert (
        rpc_error(lambda: stub.UpdateLaunchPlan(request)).code() == grpc.StatusCode.INVALID_ARGUMENT
    )


def test_launch_plan_closure_expects_free_inputs_with_defaults(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub)
    wf = b.workflow_id("wf2")
    spec = b.workflow_spec(inputs={"a": b.INT, "region": b.STR, "source": b.STR})
    stub.CreateWorkflow(workflow_pb2.WorkflowCreateRequest(id=wf, spec=spec))
    lp = b.lp_spec(
        workflow=wf,
        defaults={"region": b.str_literal("eu")},
        fixed={"source": b.str_literal("warehouse")},
        types={"region": b.STR},
    )
    stub.CreateLaunchPlan(launch_plan_pb2.LaunchPlanCreateRequest(id=b.lp_id("lp2"), spec=lp))
    plan = stub.GetLaunchPlan(common_pb2.ObjectGetRequest(id=b.lp_id("lp2")))
    expected = plan.closure.expected_inputs.parameters
    assert set(expected) == {"a", "region"}
    assert expected["a"].required
    assert expected["region"].default.scalar.primitive.string_value == "eu"
    assert set(plan.closure.expected_outputs.variables) == {"o0"}
    # Admin stores the expected inputs as the spec's default inputs (ValidateLaunchPlan), so a
    # spec read back differs from the one registered; clients must normalize for diffs
    assert plan.spec.default_inputs == plan.closure.expected_inputs


def test_a_name_both_fixed_and_default_is_expected_and_accepted(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    lp = b.lp_spec(defaults={"a": b.int_literal(1)}, fixed={"a": b.int_literal(2)})
    register_basics(stub, lp)
    plan = stub.GetLaunchPlan(common_pb2.ObjectGetRequest(id=b.lp_id()))
    assert set(plan.closure.expected_inputs.parameters) == {"a"}


@pytest.mark.parametrize(
    ("spec_kwargs", "message"),
    [
        (
            {"defaults": {"nope": b.int_literal(1)}, "types": {"nope": b.INT}},
            "unexpected default_input nope",
        ),
        (
            {"defaults": {"a": b.str_literal("x")}, "types": {"a": b.STR}},
            "invalid default_input wrong type a",
        ),
        (
            {"defaults": {"a": b.str_literal("x")}},
            "Type mismatch for Parameter a in default_inputs",
        ),
        ({"fixed": {"a": b.str_literal("x")}}, "invalid fixed_input wrong type a"),
        ({"fixed": {"zz": b.int_literal(1)}}, "unexpected fixed_input zz"),
    ],
)
def test_bad_launch_plan_inputs_are_invalid_argument(
    stub: admin_pb2_grpc.AdminServiceStub, spec_kwargs: dict[str, object], message: str
) -> None:
    register_basics(stub)
    request = launch_plan_pb2.LaunchPlanCreateRequest(
        id=b.lp_id("bad"),
        spec=b.lp_spec(**spec_kwargs),  # type: ignore[arg-type]
    )
    error = rpc_error(lambda: stub.CreateLaunchPlan(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in error.details()


def _scheduled(
    stub: admin_pb2_grpc.AdminServiceStub,
    schedule: schedule_pb2.Schedule,
    defaults: dict[str, object] | None = None,
) -> None:
    wf = b.workflow_id("sched")
    spec = b.workflow_spec(inputs={"a": b.INT, "run_date": b.DATETIME})
    stub.CreateWorkflow(workflow_pb2.WorkflowCreateRequest(id=wf, spec=spec))
    types = {"a": b.INT, "run_date": b.DATETIME}
    lp = b.lp_spec(workflow=wf, schedule=schedule, defaults=defaults, types=types)  # type: ignore[arg-type]
    stub.CreateLaunchPlan(launch_plan_pb2.LaunchPlanCreateRequest(id=b.lp_id("sched"), spec=lp))


def _cron(expression: str, arg: str = "run_date") -> schedule_pb2.Schedule:
    return schedule_pb2.Schedule(
        cron_schedule=schedule_pb2.CronSchedule(schedule=expression), kickoff_time_input_arg=arg
    )


def test_valid_cron_and_descriptor_schedules_register(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub)
    _scheduled(stub, _cron("0 6 * * *"), {"a": b.int_literal(1)})
    wf = b.workflow_id("sched")
    lp = b.lp_spec(workflow=wf, schedule=_cron("@daily"), defaults={"a": b.int_literal(2)})
    stub.CreateLaunchPlan(launch_plan_pb2.LaunchPlanCreateRequest(id=b.lp_id("daily"), spec=lp))


BOTH_DEFAULTED = {"a": b.int_literal(1), "run_date": b.datetime_literal()}


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (_cron("0 6 * *"), "Invalid cron expression: 0 6 * *"),
        (_cron("every day"), "Invalid cron expression"),
        (_cron("0 6 * * *", arg="a"), "KickoffTimeInputArg must reference a datetime input. [a]"),
        (_cron("0 6 * * *", arg="missing"), "does not point to a free input. [missing]"),
    ],
)
def test_bad_schedules_are_invalid_argument(
    stub: admin_pb2_grpc.AdminServiceStub, schedule: schedule_pb2.Schedule, message: str
) -> None:
    register_basics(stub)
    error = rpc_error(lambda: _scheduled(stub, schedule, BOTH_DEFAULTED))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in error.details()


def test_schedule_with_unbound_required_input_is_invalid_argument(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub)
    error = rpc_error(lambda: _scheduled(stub, _cron("0 6 * * *")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "unbound required input. [a] is required" in error.details()


def test_list_ids_gives_each_name_once(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    register_basics(stub)
    stub.CreateTask(task_pb2.TaskCreateRequest(id=b.task_id(version="v2"), spec=b.task_spec()))
    ids = stub.ListTaskIds(
        common_pb2.NamedEntityIdentifierListRequest(project=b.PROJECT, domain=b.DOMAIN, limit=10)
    )
    assert [e.name for e in ids.entities] == ["t"]


def test_deprecated_cron_expression_registers_but_fails_at_activation(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub)
    legacy = schedule_pb2.Schedule(cron_expression="0 6 * * *")
    lp = b.lp_spec(defaults={"a": b.int_literal(1)}, schedule=legacy)
    stub.CreateLaunchPlan(launch_plan_pb2.LaunchPlanCreateRequest(id=b.lp_id("legacy"), spec=lp))
    request = launch_plan_pb2.LaunchPlanUpdateRequest(id=b.lp_id("legacy"), state=ACTIVE)
    error = rpc_error(lambda: stub.UpdateLaunchPlan(request))
    assert error.code() == grpc.StatusCode.INTERNAL
    assert "unknown schedule expression type" in error.details()
    plan = stub.GetLaunchPlan(common_pb2.ObjectGetRequest(id=b.lp_id("legacy")))
    assert plan.closure.state == INACTIVE
