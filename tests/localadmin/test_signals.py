"""SignalService rules (ADMIN-SEMANTICS.md, Signals) and gate nodes in the engine."""

from __future__ import annotations

import grpc
import pytest
from flyteidl.admin import launch_plan_pb2, signal_pb2, workflow_pb2
from flyteidl.core import execution_pb2 as core_exec_pb2
from flyteidl.core import identifier_pb2
from flyteidl.core import workflow_pb2 as core_wf_pb2
from flyteidl.service import admin_pb2_grpc, signal_pb2_grpc

from reconciler.localadmin import LocalAdmin
from tests.localadmin import builders as b
from tests.localadmin.conftest import execution_id, get_execution, register_basics, rpc_error

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

Phase = core_exec_pb2.WorkflowExecution.Phase


def _signal_id(name: str, execution: str = "run") -> identifier_pb2.SignalIdentifier:
    return identifier_pb2.SignalIdentifier(signal_id=name, execution_id=execution_id(execution))


def _set(signals: signal_pb2_grpc.SignalServiceStub, name: str, value: object) -> None:
    signals.SetSignal(signal_pb2.SignalSetRequest(id=_signal_id(name), value=value))


def test_setting_a_signal_nobody_created_is_invalid_argument(
    signals: signal_pb2_grpc.SignalServiceStub,
) -> None:
    error = rpc_error(lambda: _set(signals, "ghost", b.bool_literal(True)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "ghost" in error.details()


def test_value_not_castable_to_the_signal_type_is_invalid_argument(
    signals: signal_pb2_grpc.SignalServiceStub,
) -> None:
    signals.GetOrCreateSignal(signal_pb2.SignalGetOrCreateRequest(id=_signal_id("n"), type=b.INT))
    error = rpc_error(lambda: _set(signals, "n", b.str_literal("five")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not castable" in error.details()


def test_setting_twice_silently_overwrites(signals: signal_pb2_grpc.SignalServiceStub) -> None:
    signals.GetOrCreateSignal(signal_pb2.SignalGetOrCreateRequest(id=_signal_id("n"), type=b.INT))
    _set(signals, "n", b.int_literal(1))
    _set(signals, "n", b.int_literal(2))
    listed = signals.ListSignals(
        signal_pb2.SignalListRequest(workflow_execution_id=execution_id("run"), limit=10)
    )
    assert [s.value.scalar.primitive.integer for s in listed.signals] == [2]


def test_get_or_create_returns_the_existing_signal(
    signals: signal_pb2_grpc.SignalServiceStub,
) -> None:
    request = signal_pb2.SignalGetOrCreateRequest(id=_signal_id("n"), type=b.INT)
    signals.GetOrCreateSignal(request)
    _set(signals, "n", b.int_literal(3))
    again = signals.GetOrCreateSignal(request)
    assert again.value.scalar.primitive.integer == 3


def test_list_signals_needs_a_positive_limit(signals: signal_pb2_grpc.SignalServiceStub) -> None:
    request = signal_pb2.SignalListRequest(workflow_execution_id=execution_id("run"))
    assert (
        rpc_error(lambda: signals.ListSignals(request)).code() == grpc.StatusCode.INVALID_ARGUMENT
    )


def _gated(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    """Workflow ``gated`` and an execution ``run`` of it."""
    b.register_gated(stub)
    stub.CreateExecution(
        b.execution_request(
            "run", launch_plan=b.lp_id("gated"), inputs=b.literal_map(a=b.int_literal(1))
        )
    )


def test_gates_create_signals_and_typed_values_flow_on(
    admin: LocalAdmin,
    stub: admin_pb2_grpc.AdminServiceStub,
    signals: signal_pb2_grpc.SignalServiceStub,
) -> None:
    register_basics(stub)
    _gated(stub)
    admin.advance(60)
    listed = signals.ListSignals(
        signal_pb2.SignalListRequest(workflow_execution_id=execution_id("run"), limit=10)
    )
    assert [(s.id.signal_id, s.type) for s in listed.signals] == [("ok", b.BOOL)]
    _set(signals, "ok", b.bool_literal(True))
    admin.advance(1)
    _set(signals, "n", b.int_literal(42))
    admin.advance(1)
    assert get_execution(stub, "run").closure.phase == Phase.SUCCEEDED
    from flyteidl.admin import execution_pb2

    data = stub.GetExecutionData(
        execution_pb2.WorkflowExecutionGetDataRequest(id=execution_id("run"))
    )
    assert data.full_outputs.literals["o0"].scalar.primitive.integer == 42


def test_rejecting_an_approval_fails_the_execution(
    admin: LocalAdmin,
    stub: admin_pb2_grpc.AdminServiceStub,
    signals: signal_pb2_grpc.SignalServiceStub,
) -> None:
    register_basics(stub)
    _gated(stub)
    admin.advance(1)
    _set(signals, "ok", b.bool_literal(False))
    admin.advance(1)
    execution = get_execution(stub, "run")
    assert execution.closure.phase == Phase.FAILED
    assert "rejected" in execution.closure.error.message


def test_a_gate_times_out_without_its_signal(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    from google.protobuf import duration_pb2

    register_basics(stub)
    gate = core_wf_pb2.Node(
        id="g0",
        metadata=core_wf_pb2.NodeMetadata(name="g0", timeout=duration_pb2.Duration(seconds=600)),
        gate_node=core_wf_pb2.GateNode(approve=core_wf_pb2.ApproveCondition(signal_id="ok")),
    )
    spec = b.workflow_spec(nodes=[gate], inputs={}, outputs={})
    stub.CreateWorkflow(workflow_pb2.WorkflowCreateRequest(id=b.workflow_id("late"), spec=spec))
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(
            id=b.lp_id("late"), spec=b.lp_spec(workflow=b.workflow_id("late"), types={})
        )
    )
    stub.CreateExecution(b.execution_request("run", launch_plan=b.lp_id("late")))
    admin.advance(599)
    assert get_execution(stub, "run").closure.phase == Phase.RUNNING
    admin.advance(1)
    execution = get_execution(stub, "run")
    assert execution.closure.phase == Phase.FAILED
    assert "timed out" in execution.closure.error.message
