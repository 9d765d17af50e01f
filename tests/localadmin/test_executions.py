"""Execution rules (ADMIN-SEMANTICS.md, Executions) and the simulated engine, over real gRPC."""

from __future__ import annotations

import re

import grpc
import pytest
from flyteidl.admin import (
    execution_pb2,
    launch_plan_pb2,
    node_execution_pb2,
    task_execution_pb2,
    workflow_pb2,
)
from flyteidl.core import execution_pb2 as core_exec_pb2
from flyteidl.core import identifier_pb2
from flyteidl.core import workflow_pb2 as core_wf_pb2
from flyteidl.service import admin_pb2_grpc

from reconciler.localadmin import LocalAdmin
from reconciler.localadmin.executions import Caller
from reconciler.localadmin.nodes import FAIL_ATTEMPTS_LABEL, FAIL_NODE_LABEL
from tests.localadmin import builders as b
from tests.localadmin.conftest import (
    execution_id,
    get_execution,
    list_request,
    register_basics,
    rpc_error,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

Phase = core_exec_pb2.WorkflowExecution.Phase
NodePhase = core_exec_pb2.NodeExecution.Phase
Mode = execution_pb2.ExecutionMetadata.ExecutionMode


def _create(stub: admin_pb2_grpc.AdminServiceStub, name: str, **kwargs: object) -> str:
    response = stub.CreateExecution(b.execution_request(name, **kwargs))  # type: ignore[arg-type]
    return str(response.id.name)


def _nodes(
    stub: admin_pb2_grpc.AdminServiceStub, name: str, system: bool = False
) -> dict[str, int]:
    """Node phases by node id; start-node and end-node only when ``system``."""
    listed = stub.ListNodeExecutions(
        node_execution_pb2.NodeExecutionListRequest(
            workflow_execution_id=execution_id(name), limit=100
        )
    )
    return {
        n.id.node_id: n.closure.phase
        for n in listed.node_executions
        if system or n.id.node_id not in ("start-node", "end-node")
    }


def _two_step_workflow(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    """Workflow ``two`` (n0 -> n1) with launch plan ``two``."""
    nodes = [
        b.task_node("n0", b.task_id(), b.promise("", "a")),
        b.task_node("n1", b.task_id(), b.promise("n0", "o0"), upstream=("n0",)),
    ]
    spec = b.workflow_spec(nodes=nodes, output_from="n1")
    stub.CreateWorkflow(workflow_pb2.WorkflowCreateRequest(id=b.workflow_id("two"), spec=spec))
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(
            id=b.lp_id("two"), spec=b.lp_spec(workflow=b.workflow_id("two"))
        )
    )


def test_name_longer_than_63_characters_is_invalid(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    register_basics(stub)
    error = rpc_error(lambda: _create(stub, "a" * 64))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "exceeded length 63" in error.details()


@pytest.mark.parametrize("name", ["1abc", "ab_c", "ab.c", "-ab"])
def test_name_outside_the_pattern_is_invalid(
    stub: admin_pb2_grpc.AdminServiceStub, name: str
) -> None:
    register_basics(stub)
    error = rpc_error(lambda: _create(stub, name))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "does not match regex" in error.details()


def test_name_is_checked_lowercased_so_capitals_pass(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    register_basics(stub)
    assert _create(stub, "Mixed-Case-1") == "Mixed-Case-1"


def test_missing_name_is_generated_as_a_plus_19_characters(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub)
    name = _create(stub, "")
    assert re.fullmatch(r"a[a-z0-9]{19}", name)


def test_duplicate_name_is_already_exists(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    register_basics(stub)
    _create(stub, "dup")
    assert rpc_error(lambda: _create(stub, "dup")).code() == grpc.StatusCode.ALREADY_EXISTS


def test_overriding_a_fixed_input_is_refused(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    # Admin only "expects" a fixed input that is also a default; then it refuses the override
    both = b.lp_spec(defaults={"a": b.int_literal(1)}, fixed={"a": b.int_literal(5)})
    register_basics(stub, both)
    error = rpc_error(lambda: _create(stub, "fx", inputs=b.literal_map(a=b.int_literal(6))))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "fixed_inputs a cannot be overridden" in error.details()


def test_giving_a_fixed_only_input_is_an_invalid_input(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub, b.lp_spec(fixed={"a": b.int_literal(5)}))
    error = rpc_error(lambda: _create(stub, "fx", inputs=b.literal_map(a=b.int_literal(6))))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "invalid input a"


def test_fixed_inputs_are_part_of_the_execution_inputs(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub, b.lp_spec(fixed={"a": b.int_literal(5)}))
    _create(stub, "fixed")
    data = stub.GetExecutionData(
        execution_pb2.WorkflowExecutionGetDataRequest(id=execution_id("fixed"))
    )
    assert data.full_inputs.literals["a"].scalar.primitive.integer == 5


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (b.literal_map(a=b.str_literal("x")), "invalid a input wrong type"),
        (b.literal_map(zzz=b.int_literal(1)), "invalid input zzz"),
    ],
)
def test_inputs_must_fit_the_launch_plan(
    stub: admin_pb2_grpc.AdminServiceStub, inputs: object, message: str
) -> None:
    register_basics(stub)
    error = rpc_error(lambda: _create(stub, "bad", inputs=inputs))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in error.details()


def test_missing_required_input_is_refused(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    register_basics(stub, b.lp_spec())
    error = rpc_error(lambda: _create(stub, "noinput"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "expected_inputs a missing"


def test_unknown_launch_plan_is_not_found(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    register_basics(stub)
    error = rpc_error(lambda: _create(stub, "x", launch_plan=b.lp_id("ghost")))
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_launch_plan_labels_apply_unless_the_request_sets_its_own(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    register_basics(
        stub, b.lp_spec(defaults={"a": b.int_literal(1)}, labels={"team": "lp", "x": "1"})
    )
    _create(stub, "from-lp")
    _create(stub, "from-request", labels={"team": "req"})
    resolved = admin.executions.resolved_spec
    assert dict(resolved(execution_id("from-lp")).labels.values) == {"team": "lp", "x": "1"}
    # maps are replaced, not merged
    assert dict(resolved(execution_id("from-request")).labels.values) == {"team": "req"}
    # the stored spec keeps the request's labels only (CreateExecutionModel)
    assert dict(get_execution(stub, "from-lp").spec.labels.values) == {}
    assert dict(get_execution(stub, "from-request").spec.labels.values) == {"team": "req"}


def test_server_overwrites_principal_and_system_metadata_and_keeps_mode(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub)
    _create(stub, "meta")
    metadata = get_execution(stub, "meta").spec.metadata
    assert metadata.principal != "placeholder"
    assert metadata.system_metadata.execution_cluster == "localadmin"
    assert metadata.mode == Mode.MANUAL


def test_execution_runs_to_success_with_inputs_and_outputs(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    register_basics(stub)
    _create(stub, "run", inputs=b.literal_map(a=b.int_literal(7)))
    assert get_execution(stub, "run").closure.phase == Phase.QUEUED
    admin.advance(10)
    execution = get_execution(stub, "run")
    assert execution.closure.phase == Phase.SUCCEEDED
    data = stub.GetExecutionData(
        execution_pb2.WorkflowExecutionGetDataRequest(id=execution_id("run"))
    )
    assert data.full_inputs.literals["a"].scalar.primitive.integer == 7
    # outputs are simulated: the zero value of the declared type
    assert data.full_outputs.literals["o0"].scalar.primitive.integer == 0
    # like propeller, the run reports start-node and end-node around the user's nodes
    assert _nodes(stub, "run", system=True) == {
        "start-node": NodePhase.SUCCEEDED,
        "n0": NodePhase.SUCCEEDED,
        "end-node": NodePhase.SUCCEEDED,
    }
    end = identifier_pb2.NodeExecutionIdentifier(
        node_id="end-node", execution_id=execution_id("run")
    )
    end_data = stub.GetNodeExecutionData(node_execution_pb2.NodeExecutionGetDataRequest(id=end))
    assert end_data.full_inputs == data.full_outputs


def test_node_and_task_executions_record_inputs(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    register_basics(stub)
    _create(stub, "rec", inputs=b.literal_map(a=b.int_literal(3)))
    admin.advance(10)
    node_id = identifier_pb2.NodeExecutionIdentifier(node_id="n0", execution_id=execution_id("rec"))
    data = stub.GetNodeExecutionData(node_execution_pb2.NodeExecutionGetDataRequest(id=node_id))
    assert data.full_inputs.literals["a"].scalar.primitive.integer == 3
    tasks = stub.ListTaskExecutions(
        task_execution_pb2.TaskExecutionListRequest(node_execution_id=node_id, limit=10)
    )
    assert [t.closure.phase for t in tasks.task_executions] == [
        core_exec_pb2.TaskExecution.SUCCEEDED
    ]
    task_data = stub.GetTaskExecutionData(
        task_execution_pb2.TaskExecutionGetDataRequest(id=tasks.task_executions[0].id)
    )
    assert "o0" in task_data.full_outputs.literals


def test_nodes_run_in_dependency_order_on_the_clock(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    register_basics(stub)
    _two_step_workflow(stub)
    _create(stub, "order", launch_plan=b.lp_id("two"), inputs=b.literal_map(a=b.int_literal(1)))
    admin.advance(0)
    assert _nodes(stub, "order") == {"n0": NodePhase.RUNNING}
    admin.advance(1)
    assert _nodes(stub, "order") == {"n0": NodePhase.SUCCEEDED, "n1": NodePhase.RUNNING}


def test_terminating_a_running_execution_aborts_it(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    register_basics(stub)
    _create(stub, "stop")
    admin.advance(0)
    stub.TerminateExecution(
        execution_pb2.ExecutionTerminateRequest(id=execution_id("stop"), cause="no")
    )
    assert get_execution(stub, "stop").closure.phase == Phase.ABORTING
    admin.advance(0)
    execution = get_execution(stub, "stop")
    assert execution.closure.phase == Phase.ABORTED
    assert execution.closure.abort_metadata.cause == "no"
    assert _nodes(stub, "stop") == {"n0": NodePhase.ABORTED}


def test_terminating_a_terminal_execution_is_failed_precondition(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    register_basics(stub)
    _create(stub, "done")
    admin.advance(10)
    request = execution_pb2.ExecutionTerminateRequest(id=execution_id("done"))
    assert rpc_error(lambda: stub.TerminateExecution(request)).code() == (
        grpc.StatusCode.FAILED_PRECONDITION
    )


def test_fail_node_label_fails_the_run_and_recover_reuses_succeeded_nodes(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    register_basics(stub)
    _two_step_workflow(stub)
    _create(
        stub,
        "flaky",
        launch_plan=b.lp_id("two"),
        inputs=b.literal_map(a=b.int_literal(1)),
        labels={FAIL_NODE_LABEL: "n1"},
    )
    admin.advance(10)
    failed = get_execution(stub, "flaky")
    assert failed.closure.phase == Phase.FAILED
    assert "n1" in failed.closure.error.message
    recovered = stub.RecoverExecution(
        execution_pb2.ExecutionRecoverRequest(id=execution_id("flaky"), name="flaky-r1")
    )
    assert recovered.id.name == "flaky-r1"
    admin.advance(10)
    execution = get_execution(stub, "flaky-r1")
    assert execution.closure.phase == Phase.SUCCEEDED
    assert execution.spec.metadata.mode == Mode.RECOVERED
    assert execution.spec.metadata.reference_execution.name == "flaky"
    assert _nodes(stub, "flaky-r1") == {"n0": NodePhase.RECOVERED, "n1": NodePhase.SUCCEEDED}


def test_a_launch_plan_fail_node_label_reaches_the_engine_but_not_the_stored_spec(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    # the engine runs with the resolved labels, as propeller sees them on the workflow CRD
    register_basics(stub)
    _two_step_workflow(stub)
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(
            id=b.lp_id("two", version="flaky"),
            spec=b.lp_spec(b.workflow_id("two"), labels={FAIL_NODE_LABEL: "n1"}),
        )
    )
    _create(
        stub,
        "lp-flaky",
        launch_plan=b.lp_id("two", version="flaky"),
        inputs=b.literal_map(a=b.int_literal(1)),
    )
    admin.advance(10)
    failed = get_execution(stub, "lp-flaky")
    assert FAIL_NODE_LABEL not in failed.spec.labels.values
    assert failed.closure.phase == Phase.FAILED
    assert "n1" in failed.closure.error.message


def test_relaunch_copies_spec_and_inputs_without_a_phase_check(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    register_basics(stub)
    _create(stub, "orig", inputs=b.literal_map(a=b.int_literal(9)), labels={"k": "v"})
    relaunched = stub.RelaunchExecution(
        execution_pb2.ExecutionRelaunchRequest(id=execution_id("orig"), name="again")
    )
    execution = get_execution(stub, relaunched.id.name)
    assert execution.spec.metadata.mode == Mode.RELAUNCH
    assert execution.spec.metadata.reference_execution.name == "orig"
    assert dict(execution.spec.labels.values) == {"k": "v"}
    data = stub.GetExecutionData(
        execution_pb2.WorkflowExecutionGetDataRequest(id=execution_id("again"))
    )
    assert data.full_inputs.literals["a"].scalar.primitive.integer == 9


def test_fail_attempts_label_keeps_failing_relaunches_up_to_the_bound(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    register_basics(stub)
    _create(stub, "f1", labels={FAIL_NODE_LABEL: "n0", FAIL_ATTEMPTS_LABEL: "2"})
    admin.advance(10)
    stub.RelaunchExecution(execution_pb2.ExecutionRelaunchRequest(id=execution_id("f1"), name="f2"))
    admin.advance(10)
    stub.RelaunchExecution(execution_pb2.ExecutionRelaunchRequest(id=execution_id("f2"), name="f3"))
    admin.advance(10)
    phases = [get_execution(stub, n).closure.phase for n in ("f1", "f2", "f3")]
    assert phases == [Phase.FAILED, Phase.FAILED, Phase.SUCCEEDED]


def test_archived_execution_is_hidden_unless_the_filter_names_state(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub)
    _create(stub, "keep")
    _create(stub, "old")
    stub.UpdateExecution(
        execution_pb2.ExecutionUpdateRequest(
            id=execution_id("old"), state=execution_pb2.EXECUTION_ARCHIVED
        )
    )
    default = stub.ListExecutions(list_request())
    assert [e.id.name for e in default.executions] == ["keep"]
    archived = stub.ListExecutions(list_request(filters="eq(state,1)"))
    assert [e.id.name for e in archived.executions] == ["old"]


def test_executing_a_task_runs_the_generated_single_task_launch_plan(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    register_basics(stub)
    request = b.execution_request(
        "solo", launch_plan=b.task_id(), inputs=b.literal_map(a=b.int_literal(2))
    )
    stub.CreateExecution(request)
    admin.advance(10)
    execution = get_execution(stub, "solo")
    assert execution.spec.launch_plan.resource_type == identifier_pb2.TASK
    assert execution.closure.workflow_id.name == ".flytegen.t"
    assert execution.closure.phase == Phase.SUCCEEDED
    assert _nodes(stub, "solo") == {"t": NodePhase.SUCCEEDED}


def test_launch_plan_node_starts_a_child_execution_recording_its_parent(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    register_basics(stub)
    node = core_wf_pb2.Node(
        id="b-0",
        inputs=[b.task_node("x", b.task_id(), b.promise("", "a")).inputs[0]],
        workflow_node=core_wf_pb2.WorkflowNode(launchplan_ref=b.lp_id()),
    )
    spec = b.workflow_spec(nodes=[node], output_from="b-0")
    stub.CreateWorkflow(workflow_pb2.WorkflowCreateRequest(id=b.workflow_id("parent"), spec=spec))
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(
            id=b.lp_id("parent"), spec=b.lp_spec(workflow=b.workflow_id("parent"))
        )
    )
    _create(
        stub, "backfill", launch_plan=b.lp_id("parent"), inputs=b.literal_map(a=b.int_literal(4))
    )
    admin.advance(10)
    assert get_execution(stub, "backfill").closure.phase == Phase.SUCCEEDED
    node_id = identifier_pb2.NodeExecutionIdentifier(
        node_id="b-0", execution_id=execution_id("backfill")
    )
    record = stub.GetNodeExecution(node_execution_pb2.NodeExecutionGetRequest(id=node_id))
    child_name = record.closure.workflow_node_metadata.executionId.name
    child = get_execution(stub, child_name)
    assert child.spec.metadata.mode == Mode.CHILD_WORKFLOW
    assert child.spec.metadata.parent_node_execution == node_id
    assert child.spec.metadata.nesting == 1
    assert child.closure.phase == Phase.SUCCEEDED
    children = stub.ListExecutions(list_request(filters=f"eq(mode,{Mode.CHILD_WORKFLOW})"))
    assert [e.id.name for e in children.executions] == [child_name]


def test_an_execution_launched_by_a_node_inherits_from_that_nodes_execution(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    # execution_manager.go getInheritedExecMetadata: the parent node execution must exist; the
    # new execution takes its execution's user as principal, its nesting + 1 and cluster label
    register_basics(stub)
    parent_spec = b.execution_request("parent").spec
    parent_spec.execution_cluster_label.value = "gpu"
    admin.executions.create(
        b.PROJECT, b.DOMAIN, "parent", parent_spec, b.literal_map(), caller=Caller("alice")
    )
    admin.advance(10)
    node_id = identifier_pb2.NodeExecutionIdentifier(
        node_id="n0", execution_id=execution_id("parent")
    )
    request = b.execution_request("launched")
    request.spec.metadata.parent_node_execution.CopyFrom(node_id)
    request.spec.metadata.nesting = 7
    stub.CreateExecution(request)  # no token: the caller is nobody
    launched = get_execution(stub, "launched")
    assert launched.spec.metadata.principal == "alice"
    assert launched.closure.state_change_details.principal == "alice"
    assert launched.spec.metadata.nesting == 1
    assert launched.spec.execution_cluster_label.value == "gpu"
    request = b.execution_request("orphan")
    request.spec.metadata.parent_node_execution.CopyFrom(node_id)
    request.spec.metadata.parent_node_execution.node_id = "ghost"
    error = rpc_error(lambda: stub.CreateExecution(request))
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_sleep_gate_waits_for_the_clock(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    from google.protobuf import duration_pb2

    register_basics(stub)
    gate = core_wf_pb2.Node(
        id="nap",
        gate_node=core_wf_pb2.GateNode(
            sleep=core_wf_pb2.SleepCondition(duration=duration_pb2.Duration(seconds=3600))
        ),
    )
    spec = b.workflow_spec(nodes=[gate], outputs={})
    stub.CreateWorkflow(workflow_pb2.WorkflowCreateRequest(id=b.workflow_id("nap"), spec=spec))
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(
            id=b.lp_id("nap"),
            spec=b.lp_spec(workflow=b.workflow_id("nap"), defaults={"a": b.int_literal(0)}),
        )
    )
    _create(stub, "napping", launch_plan=b.lp_id("nap"))
    admin.advance(3599)
    assert get_execution(stub, "napping").closure.phase == Phase.RUNNING
    admin.advance(1)
    assert get_execution(stub, "napping").closure.phase == Phase.SUCCEEDED


def test_get_missing_execution_is_not_found(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    error = rpc_error(lambda: get_execution(stub, "ghost"))
    assert error.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    "labels",
    [{"bad key": "v"}, {"k": "not ok!"}, {"k": "x" * 64}, {"Bad_Prefix/k": "v"}],
)
def test_labels_must_be_valid_kubernetes_labels(
    stub: admin_pb2_grpc.AdminServiceStub, labels: dict[str, str]
) -> None:
    register_basics(stub)
    error = rpc_error(lambda: _create(stub, "lbl", labels=labels))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "label" in error.details()


def test_skip_concurrency_policy_refuses_launches_at_the_limit(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    spec = b.lp_spec(defaults={"a": b.int_literal(1)})
    spec.concurrency_policy.CopyFrom(
        launch_plan_pb2.ConcurrencyPolicy(
            max=1, behavior=launch_plan_pb2.CONCURRENCY_LIMIT_BEHAVIOR_SKIP
        )
    )
    register_basics(stub, spec)
    _create(stub, "c1")
    error = rpc_error(lambda: _create(stub, "c2"))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "concurrency limit" in error.details()
    admin.advance(10)  # c1 finishes, which frees the slot
    assert _create(stub, "c3") == "c3"


def test_unimplemented_methods_stay_unimplemented(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    from flyteidl.admin import common_pb2, description_entity_pb2

    request = description_entity_pb2.DescriptionEntityListRequest(
        resource_type=identifier_pb2.WORKFLOW,
        id=common_pb2.NamedEntityIdentifier(project=b.PROJECT, domain=b.DOMAIN, name="wf"),
        limit=10,
    )
    error = rpc_error(lambda: stub.ListDescriptionEntities(request))
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED


def test_terminating_a_parent_terminates_its_running_child(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    from google.protobuf import duration_pb2

    register_basics(stub)
    nap = core_wf_pb2.Node(
        id="nap",
        gate_node=core_wf_pb2.GateNode(
            sleep=core_wf_pb2.SleepCondition(duration=duration_pb2.Duration(seconds=3600))
        ),
    )
    child_spec = b.workflow_spec(nodes=[nap], inputs={}, outputs={})
    stub.CreateWorkflow(
        workflow_pb2.WorkflowCreateRequest(id=b.workflow_id("slow"), spec=child_spec)
    )
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(
            id=b.lp_id("slow"), spec=b.lp_spec(workflow=b.workflow_id("slow"), types={})
        )
    )
    parent_node = core_wf_pb2.Node(
        id="child", workflow_node=core_wf_pb2.WorkflowNode(launchplan_ref=b.lp_id("slow"))
    )
    parent_spec = b.workflow_spec(nodes=[parent_node], inputs={}, outputs={})
    stub.CreateWorkflow(
        workflow_pb2.WorkflowCreateRequest(id=b.workflow_id("parent"), spec=parent_spec)
    )
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(
            id=b.lp_id("parent"), spec=b.lp_spec(workflow=b.workflow_id("parent"), types={})
        )
    )
    _create(stub, "p", launch_plan=b.lp_id("parent"))
    admin.advance(10)
    node_id = identifier_pb2.NodeExecutionIdentifier(
        node_id="child", execution_id=execution_id("p")
    )
    child = stub.GetNodeExecution(node_execution_pb2.NodeExecutionGetRequest(id=node_id))
    child_name = child.closure.workflow_node_metadata.executionId.name
    assert get_execution(stub, child_name).closure.phase == Phase.RUNNING
    stub.TerminateExecution(execution_pb2.ExecutionTerminateRequest(id=execution_id("p")))
    admin.advance(0)
    assert get_execution(stub, "p").closure.phase == Phase.ABORTED
    assert get_execution(stub, child_name).closure.phase == Phase.ABORTED


def _two_independent_nodes(stub: admin_pb2_grpc.AdminServiceStub, on_failure: int) -> None:
    from google.protobuf import duration_pb2

    nap = core_wf_pb2.GateNode(
        sleep=core_wf_pb2.SleepCondition(duration=duration_pb2.Duration(seconds=3600))
    )
    nodes = [
        b.task_node("n0", b.task_id(), b.promise("", "a")),
        core_wf_pb2.Node(id="n1", gate_node=nap),  # still sleeping when n0 fails
    ]
    spec = b.workflow_spec(nodes=nodes, output_from="n0")
    spec.template.metadata.on_failure = on_failure  # type: ignore[assignment]
    stub.CreateWorkflow(workflow_pb2.WorkflowCreateRequest(id=b.workflow_id("pair"), spec=spec))
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(
            id=b.lp_id("pair"),
            spec=b.lp_spec(workflow=b.workflow_id("pair"), defaults={"a": b.int_literal(1)}),
        )
    )


@pytest.mark.parametrize(
    ("policy", "sibling"),
    [
        (core_wf_pb2.WorkflowMetadata.FAIL_IMMEDIATELY, NodePhase.ABORTED),
        (core_wf_pb2.WorkflowMetadata.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE, NodePhase.SUCCEEDED),
    ],
)
def test_failure_policy_decides_what_happens_to_running_siblings(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub, policy: int, sibling: int
) -> None:
    register_basics(stub)
    _two_independent_nodes(stub, policy)
    _create(stub, "pol", launch_plan=b.lp_id("pair"), labels={FAIL_NODE_LABEL: "n0"})
    admin.advance(2 * 3600)
    assert get_execution(stub, "pol").closure.phase == Phase.FAILED
    assert _nodes(stub, "pol") == {"n0": NodePhase.FAILED, "n1": sibling}


def test_outputs_annotation_gives_a_run_chosen_outputs(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    from flyteidl.admin import common_pb2

    from reconciler.localadmin.nodes import OUTPUTS_ANNOTATION

    register_basics(stub)
    request = b.execution_request("chosen")
    request.spec.annotations.CopyFrom(
        common_pb2.Annotations(values={OUTPUTS_ANNOTATION: '{"n0": {"o0": 42}}'})
    )
    stub.CreateExecution(request)
    admin.advance(10)
    data = stub.GetExecutionData(
        execution_pb2.WorkflowExecutionGetDataRequest(id=execution_id("chosen"))
    )
    assert data.full_outputs.literals["o0"].scalar.primitive.integer == 42


def test_an_outputs_annotation_that_does_not_fit_fails_the_run_as_system_error(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    from flyteidl.admin import common_pb2

    from reconciler.localadmin.nodes import OUTPUTS_ANNOTATION

    register_basics(stub)
    request = b.execution_request("unfit")
    request.spec.annotations.CopyFrom(
        common_pb2.Annotations(values={OUTPUTS_ANNOTATION: '{"n0": {"o0": "forty-two"}}'})
    )
    stub.CreateExecution(request)
    admin.advance(10)
    execution = get_execution(stub, "unfit")
    assert execution.closure.phase == Phase.FAILED
    assert execution.closure.error.kind == core_exec_pb2.ExecutionError.SYSTEM
    assert "o0" in execution.closure.error.message


def test_an_unexpected_server_error_is_internal_never_unknown(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # flytekit treats UNKNOWN like UNAUTHENTICATED and would start an interactive login
    def broken(identifier: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(admin.entities, "get_task", broken)
    from flyteidl.admin import common_pb2

    error = rpc_error(lambda: stub.GetTask(common_pb2.ObjectGetRequest(id=b.task_id())))
    assert error.code() == grpc.StatusCode.INTERNAL
    assert "RuntimeError: boom" in error.details()


def test_sub_workflow_children_are_listed_under_their_parent(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    register_basics(stub)
    inner = b.workflow_spec().template
    inner.id.CopyFrom(b.workflow_id("inner"))
    node = core_wf_pb2.Node(
        id="sub",
        inputs=[b.task_node("x", b.task_id(), b.promise("", "a")).inputs[0]],
        workflow_node=core_wf_pb2.WorkflowNode(sub_workflow_ref=b.workflow_id("inner")),
    )
    spec = b.workflow_spec(nodes=[node], output_from="sub")
    spec.sub_workflows.append(inner)
    stub.CreateWorkflow(workflow_pb2.WorkflowCreateRequest(id=b.workflow_id("outer"), spec=spec))
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(
            id=b.lp_id("outer"), spec=b.lp_spec(workflow=b.workflow_id("outer"))
        )
    )
    _create(stub, "nest", launch_plan=b.lp_id("outer"), inputs=b.literal_map(a=b.int_literal(3)))
    admin.advance(10)
    assert get_execution(stub, "nest").closure.phase == Phase.SUCCEEDED
    children = stub.ListNodeExecutions(
        node_execution_pb2.NodeExecutionListRequest(
            workflow_execution_id=execution_id("nest"), limit=10, unique_parent_id="sub"
        )
    )
    (child,) = children.node_executions
    assert (child.id.node_id, child.metadata.spec_node_id) == ("sub-0-n0", "n0")
    data = stub.GetNodeExecutionData(node_execution_pb2.NodeExecutionGetDataRequest(id=child.id))
    assert data.full_inputs.literals["a"].scalar.primitive.integer == 3
    assert "sub-0-n0" not in _nodes(stub, "nest")  # the top level lists only top-level nodes


def test_listing_children_of_an_unknown_parent_is_not_found(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    request = node_execution_pb2.NodeExecutionListRequest(
        workflow_execution_id=execution_id("nope"), limit=10, unique_parent_id="n0"
    )
    assert rpc_error(lambda: stub.ListNodeExecutions(request)).code() == grpc.StatusCode.NOT_FOUND
