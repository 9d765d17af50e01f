"""GetExecutionMetrics over the simulated engine's timings (flyteadmin
manager/impl/metrics_manager.go). The clock is manual and every task takes ``task_seconds`` = 1,
so each span's length is known exactly."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from flyteidl.admin import execution_pb2, launch_plan_pb2, workflow_pb2
from flyteidl.core import metrics_pb2
from flyteidl.core import workflow_pb2 as core_wf_pb2
from flyteidl.service import admin_pb2_grpc
from google.protobuf import duration_pb2

from reconciler.localadmin import LocalAdmin
from tests.localadmin import builders as b
from tests.localadmin.conftest import execution_id, register_basics, rpc_error

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _metrics(stub: admin_pb2_grpc.AdminServiceStub, name: str, depth: int = 10) -> metrics_pb2.Span:
    return stub.GetExecutionMetrics(
        execution_pb2.WorkflowExecutionGetMetricsRequest(id=execution_id(name), depth=depth)
    ).span


def _shape(span: metrics_pb2.Span) -> Any:
    """A span as (label, children): operation ids, node ids, task node ids, execution names."""
    kind = span.WhichOneof("id")
    if kind == "operation_id":
        label = span.operation_id
    elif kind == "node_id":
        label = f"node:{span.node_id.node_id}"
    elif kind == "task_id":
        label = f"task:{span.task_id.node_execution_id.node_id}"
    else:
        label = f"execution:{span.workflow_id.name}"
    children = [_shape(child) for child in span.spans]
    return (label, children) if children else label


def _seconds(span: metrics_pb2.Span) -> float:
    return float(span.end_time.ToNanoseconds() - span.start_time.ToNanoseconds()) / 1e9


def _run(admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub, name: str) -> None:
    stub.CreateExecution(b.execution_request(name))
    admin.advance(60)


def test_a_finished_execution_breaks_down_into_nodes_and_task_attempts(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    register_basics(stub)
    _run(admin, stub, "done")
    span = _metrics(stub, "done")
    assert _shape(span) == (
        "execution:done",
        [
            "WORKFLOW_SETUP",
            (
                "node:n0",
                [
                    "NODE_TRANSITION",
                    "NODE_SETUP",
                    ("task:n0", ["TASK_SETUP", "TASK_RUNTIME", "TASK_TEARDOWN"]),
                    "NODE_TEARDOWN",
                ],
            ),
            "WORKFLOW_TEARDOWN",
        ],
    )
    task = span.spans[1].spans[2]
    assert _seconds(task.spans[1]) == 1.0  # TASK_RUNTIME: the engine's task_seconds
    # the whole execution is covered: created -> finished
    execution = stub.GetExecution(
        execution_pb2.WorkflowExecutionGetRequest(id=execution_id("done"))
    )
    assert span.start_time == execution.closure.created_at
    assert span.end_time == execution.closure.updated_at


@pytest.mark.parametrize(
    ("depth", "expected"),
    [
        (0, "execution:d"),
        (
            1,
            (
                "execution:d",
                ["WORKFLOW_SETUP", ("node:n0", ["NODE_TRANSITION"]), "WORKFLOW_TEARDOWN"],
            ),
        ),
        (
            2,
            (
                "execution:d",
                [
                    "WORKFLOW_SETUP",
                    ("node:n0", ["NODE_TRANSITION", "NODE_SETUP", "NODE_TEARDOWN"]),
                    "WORKFLOW_TEARDOWN",
                ],
            ),
        ),
    ],
)
def test_depth_limits_how_far_down_the_spans_go(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub, depth: int, expected: Any
) -> None:
    # metrics_manager.go: each level down costs one; task attempts appear from depth 3
    register_basics(stub)
    _run(admin, stub, "d")
    assert _shape(_metrics(stub, "d", depth)) == expected


def test_a_negative_depth_has_no_limit(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    register_basics(stub)
    _run(admin, stub, "all")
    assert _shape(_metrics(stub, "all", -1)) == _shape(_metrics(stub, "all", 10))


def test_a_running_task_has_no_teardown_yet(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    register_basics(stub)
    stub.CreateExecution(b.execution_request("busy"))
    admin.advance(0.5)  # started, the task needs 1 s
    span = _metrics(stub, "busy")
    task = span.spans[1].spans[2]
    # no duration yet: TASK_RUNTIME runs to the last update and nothing follows it
    assert _shape(task) == ("task:n0", ["TASK_SETUP", "TASK_RUNTIME"])
    assert _seconds(task.spans[1]) == 0.0


def test_a_launch_plan_node_nests_the_child_execution(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    register_basics(stub)
    node = core_wf_pb2.Node(
        id="sub",
        inputs=[b.task_node("x", b.task_id(), b.promise("", "a")).inputs[0]],
        workflow_node=core_wf_pb2.WorkflowNode(launchplan_ref=b.lp_id()),
    )
    spec = b.workflow_spec(nodes=[node], output_from="sub")
    stub.CreateWorkflow(workflow_pb2.WorkflowCreateRequest(id=b.workflow_id("parent"), spec=spec))
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(
            id=b.lp_id("parent"),
            spec=b.lp_spec(workflow=b.workflow_id("parent"), defaults={"a": b.int_literal(1)}),
        )
    )
    stub.CreateExecution(b.execution_request("outer", b.lp_id("parent")))
    admin.advance(60)
    node_span = _metrics(stub, "outer").spans[1]
    label, children = _shape(node_span)
    assert label == "node:sub"
    assert children[:2] == ["NODE_TRANSITION", "NODE_SETUP"]
    child_label, child_children = children[2]
    assert child_label.startswith("execution:f")  # the child execution's own span
    assert "node:n0" in str(child_children)
    # depth counts through the child: at 2 the child execution span is bare
    shallow = _shape(_metrics(stub, "outer", 2).spans[1])
    assert shallow[1][2].startswith("execution:f")


def test_a_gate_node_shows_its_wait_as_idle(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    register_basics(stub)
    gate = core_wf_pb2.Node(
        id="nap",
        gate_node=core_wf_pb2.GateNode(
            sleep=core_wf_pb2.SleepCondition(duration=duration_pb2.Duration(seconds=30))
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
    stub.CreateExecution(b.execution_request("napping", b.lp_id("nap")))
    admin.advance(120)
    _, children = _shape(_metrics(stub, "napping").spans[1])
    assert children == ["NODE_TRANSITION", "NODE_SETUP", "NODE_IDLE", "NODE_TEARDOWN"]
    idle = _metrics(stub, "napping").spans[1].spans[2]
    assert _seconds(idle) == 30.0


def test_an_unknown_execution_is_not_found(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    error = rpc_error(lambda: _metrics(stub, "missing"))
    assert error.code() == grpc.StatusCode.NOT_FOUND
