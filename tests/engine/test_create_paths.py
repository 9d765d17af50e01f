"""Every create apply makes, when Admin already holds something under that name: the same thing
(our own earlier attempt whose answer was lost, or another client) is success, and apply says it
did not make it; anything else is a failure, never counted as done (DESIGN.md, Guarantees).

Paths: launch plans (and, through the same code, tasks and workflows), executions, backfill
runs (their workflow too), recover, relaunch, signals.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from flyteidl.admin import common_pb2, signal_pb2
from flyteidl.core import identifier_pb2
from flyteidl.service import signal_pb2_grpc

from reconciler.admin.client import AdminClient
from reconciler.apply.run import Result, apply_plan
from reconciler.commands.reconcile_common import AdminOptions, compute_plan
from reconciler.config import Connection, ConnectionFlags
from reconciler.localadmin import LocalAdmin, ManualClock
from reconciler.localadmin.faults import Fault, Faults
from reconciler.plan.model import Plan
from tests.engine.conftest import DOMAIN, PROJECT, settings
from tests.engine.test_backfill import BACKFILL
from tests.engine.test_plan_apply import EXECUTION, FAILING, _tree
from tests.engine.test_signals import MANIFESTS as GATED_RUN
from tests.localadmin import builders as b

LOST = "nothing to do: Admin already holds it as planned, made by another client, or by an " + (
    "earlier attempt of this apply whose answer was lost"
)


@pytest.fixture
def signals(local_admin: LocalAdmin) -> Iterator[signal_pb2_grpc.SignalServiceStub]:
    with grpc.insecure_channel(local_admin.endpoint) as channel:
        yield signal_pb2_grpc.SignalServiceStub(channel)


GATE = identifier_pb2.SignalIdentifier(
    signal_id="ok",
    execution_id=identifier_pb2.WorkflowExecutionIdentifier(
        project=PROJECT, domain=DOMAIN, name="run-g"
    ),
)


@pytest.fixture
def local_admin(tmp_path: Path) -> Iterator[LocalAdmin]:
    """The engine tests' local Admin, with a fault injector that does nothing until armed."""
    faults = Faults(kinds=(Fault.DROP_RESPONSE,))
    with LocalAdmin(clock=ManualClock(), data_dir=tmp_path / "admin-data", faults=faults) as admin:
        yield admin


def _lose_the_answer_to(admin: LocalAdmin, method: str) -> None:
    """The next ``method`` call commits, and its answer is lost (the client sees UNAVAILABLE)."""
    assert admin.fault_injector is not None
    admin.fault_injector.faults = Faults(
        rate=1.0, kinds=(Fault.DROP_RESPONSE,), methods=frozenset({method}), limit=1
    )


def _plan(admin: LocalAdmin, root: Path) -> Plan:
    return compute_plan(AdminOptions((root,), ConnectionFlags(admin.endpoint, True)), {}).plan


def _apply(admin: LocalAdmin, plan: Plan) -> dict[str, Result]:
    with AdminClient(Connection(endpoint=admin.endpoint, insecure=True)) as client:
        return {r.change.address: r for r in apply_plan(plan, client)}


def _names(stub) -> list[str]:  # type: ignore[no-untyped-def]
    listed = stub.ListExecutions(
        common_pb2.ResourceListRequest(
            id=common_pb2.NamedEntityIdentifier(project=PROJECT, domain=DOMAIN), limit=100
        )
    )
    return sorted(
        e.id.name
        for e in listed.executions
        if not e.spec.metadata.HasField("parent_node_execution")
    )


def _apply_cli(run_cli, admin: LocalAdmin, root: Path) -> str:  # type: ignore[no-untyped-def]
    result = run_cli("apply", root, "--auto-approve", "--endpoint", admin.endpoint, "--insecure")
    assert result.code == 0, result.out + result.err
    return str(result.out)


def _empty_plan(run_cli, admin: LocalAdmin, root: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(
        "plan", root, "--detailed-exitcode", "--endpoint", admin.endpoint, "--insecure"
    )
    assert result.code == 0, result.out + result.err


RUN = f"Execution/{PROJECT}/{DOMAIN}/run-1"
LP = f"LaunchPlan/{PROJECT}/{DOMAIN}/daily"
BACKFILL_ADDRESS = f"Backfill/{PROJECT}/{DOMAIN}/october"


# --- the answer was lost: found, and said so -------------------------------------------------


def test_a_launch_plan_whose_answer_was_lost_is_found(
    run_cli, local_admin, registered, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path)
    _lose_the_answer_to(local_admin, "CreateLaunchPlan")
    out = _apply_cli(run_cli, local_admin, root)
    assert (
        f"ok {LP}: activated 1 launch plan; 1 launch plan version was already there, made by "
        "another client, or by an earlier attempt of this apply whose answer was lost"
    ) in out
    _empty_plan(run_cli, local_admin, root)


def test_a_launch_whose_answer_was_lost_is_found_once(
    run_cli, local_admin, registered, stub, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path, executions=EXECUTION.format(name="run-1", region="us", state="launched"))
    _lose_the_answer_to(local_admin, "CreateExecution")
    out = _apply_cli(run_cli, local_admin, root)
    assert f"ok {RUN}: {LOST}" in out
    assert "1 of them found (part of) their work already done" in out
    assert _names(stub) == ["run-1"]
    _empty_plan(run_cli, local_admin, root)


def test_a_backfill_run_whose_answer_was_lost_is_found_once(
    run_cli, local_admin, registered, stub, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path)
    (root / "backfill.yaml").write_text(
        BACKFILL.format(end="2026-10-03T06:00:00Z", parallel="false")
    )
    _apply_cli(run_cli, local_admin, _only(root, "lp.yaml"))
    _lose_the_answer_to(local_admin, "CreateExecution")
    out = _apply_cli(run_cli, local_admin, root)
    assert "by another client, or by an earlier attempt of this apply whose answer was lost" in out
    assert _names(stub) == ["october"]
    _empty_plan(run_cli, local_admin, root)


@pytest.mark.parametrize(
    ("action", "method"), [("recover", "RecoverExecution"), ("relaunch", "RelaunchExecution")]
)
def test_an_attempt_whose_answer_was_lost_is_found_once(
    run_cli, local_admin, registered, stub, tmp_path, action, method
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path, executions=FAILING.format(fails=1, action=action))
    _apply_cli(run_cli, local_admin, root)
    local_admin.advance(600)
    _lose_the_answer_to(local_admin, method)
    out = _apply_cli(run_cli, local_admin, root)
    what = "recovery" if action == "recover" else "relaunch"
    assert (
        f"ok {RUN}: nothing to do: the {what} was already launched, made by another client, or "
        "by an earlier attempt of this apply whose answer was lost"
    ) in out
    assert _names(stub) == ["run-1", "run-1-r1"]
    _empty_plan(run_cli, local_admin, root)


# --- something else under that name: a failure ------------------------------------------------


def test_a_run_of_that_name_launched_by_someone_else_is_not_ours(
    local_admin, registered, stub, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path, executions=EXECUTION.format(name="run-1", region="us", state="launched"))
    plan = _plan(local_admin, root)
    request = b.execution_request("run-1", launch_plan=b.lp_id("wf"))
    request.inputs.CopyFrom(
        b.literal_map(a=b.int_literal(1), run_date=b.datetime_literal(), region=b.str_literal("x"))
    )
    stub.CreateExecution(request)
    result = _apply(local_admin, plan)[RUN]
    assert not result.ok
    assert "ALREADY_EXISTS" in result.message or "already exists" in result.message


def test_a_backfill_run_over_other_ticks_is_not_ours(
    local_admin, registered, stub, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path)
    _apply(local_admin, _plan(local_admin, _only(root, "lp.yaml")))
    (root / "backfill.yaml").write_text(
        BACKFILL.format(end="2026-10-03T06:00:00Z", parallel="false")
    )
    three_days = _plan(local_admin, root)
    # meanwhile another commit's apply ran "october" over two days only
    (root / "backfill.yaml").write_text(
        BACKFILL.format(end="2026-10-02T06:00:00Z", parallel="false")
    )
    assert _apply(local_admin, _plan(local_admin, root))[BACKFILL_ADDRESS].ok
    result = _apply(local_admin, three_days)[BACKFILL_ADDRESS]
    assert not result.ok, result.message  # the third day did not run: not done
    assert "already exists" in result.message
    assert _names(stub) == ["october"]


@pytest.mark.parametrize("action", ["recover", "relaunch"])
def test_a_run_named_like_the_attempt_that_is_not_one_is_not_ours(
    local_admin, registered, stub, tmp_path, action
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path, executions=FAILING.format(fails=1, action=action))
    _apply(local_admin, _plan(local_admin, root))
    local_admin.advance(600)
    plan = _plan(local_admin, root)
    assert any(c.address == RUN and c.action.value == action for c in plan.changes)
    request = b.execution_request("run-1-r1", launch_plan=b.lp_id("wf"))
    request.inputs.CopyFrom(
        b.literal_map(a=b.int_literal(1), run_date=b.datetime_literal(), region=b.str_literal("x"))
    )
    stub.CreateExecution(request)  # a plain run that took the attempt's name
    result = _apply(local_admin, plan)[RUN]
    assert not result.ok, result.message
    assert "already exists" in result.message


def test_a_signal_set_to_another_value_since_the_plan_is_refused(
    local_admin, registered, stub, signals, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    b.register_gated(stub)
    root = settings(tmp_path / "manifests")
    (root / "run.yaml").write_text(GATED_RUN.format(value="42"))
    _apply(local_admin, _plan(local_admin, root))
    local_admin.advance(60)
    plan = _plan(local_admin, root)
    signals.SetSignal(signal_pb2.SignalSetRequest(id=GATE, value=b.bool_literal(False)))
    result = _apply(local_admin, plan)[f"Signal/{PROJECT}/{DOMAIN}/run-g/ok"]
    assert not result.ok
    assert "was set to another value since the plan was made" in result.message
    listed = signals.ListSignals(
        signal_pb2.SignalListRequest(workflow_execution_id=GATE.execution_id, limit=10)
    )
    [ok] = [s for s in listed.signals if s.id.signal_id == "ok"]
    assert ok.value == b.bool_literal(False)  # not overwritten


def test_a_signal_already_set_to_our_value_is_found(
    local_admin, registered, stub, signals, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    b.register_gated(stub)
    root = settings(tmp_path / "manifests")
    (root / "run.yaml").write_text(GATED_RUN.format(value="42"))
    _apply(local_admin, _plan(local_admin, root))
    local_admin.advance(60)
    plan = _plan(local_admin, root)
    signals.SetSignal(signal_pb2.SignalSetRequest(id=GATE, value=b.bool_literal(True)))
    result = _apply(local_admin, plan)[f"Signal/{PROJECT}/{DOMAIN}/run-g/ok"]
    assert result.ok
    assert result.found
    assert result.message == (
        "nothing to do: the signal was already set to this value, made by another client"
    )


def _only(root: Path, name: str) -> Path:
    """A copy of the tree with only ``name`` (and the settings)."""
    part = root.parent / f"only-{name}"
    part.mkdir(exist_ok=True)
    for file in ("reconciler.yaml", name):
        (part / file).write_text((root / file).read_text())
    return part


def test_an_execution_that_finished_before_terminate_says_so(
    local_admin, registered, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path, executions=EXECUTION.format(name="run-1", region="us", state="launched"))
    _apply(local_admin, _plan(local_admin, root))
    _tree(tmp_path, executions=EXECUTION.format(name="run-1", region="us", state="terminated"))
    plan = _plan(local_admin, root)
    local_admin.advance(3600)  # it succeeds before apply gets to it
    result = _apply(local_admin, plan)[RUN]
    assert result.ok
    assert result.message == "the run had already finished; nothing to terminate"


@pytest.mark.parametrize("action", ["recover", "relaunch"])
def test_a_run_named_like_the_attempt_is_a_conflict_in_the_plan(
    run_cli, local_admin, registered, stub, tmp_path, action
) -> None:  # type: ignore[no-untyped-def]
    """Found at plan time, the same run is no attempt either: it would otherwise stand for
    attempt 1, and the failed run would never be recovered."""
    root = _tree(tmp_path, executions=FAILING.format(fails=1, action=action))
    _apply_cli(run_cli, local_admin, root)
    local_admin.advance(600)
    request = b.execution_request("run-1-r1", launch_plan=b.lp_id("wf"))
    request.inputs.CopyFrom(
        b.literal_map(a=b.int_literal(1), run_date=b.datetime_literal(), region=b.str_literal("x"))
    )
    stub.CreateExecution(request)
    endpoint = ("--endpoint", local_admin.endpoint, "--insecure")
    plan = run_cli("plan", root, "--detailed-exitcode", *endpoint)
    assert plan.code == 3, plan.out + plan.err
    assert f"! {RUN}" in plan.out
    assert "run-1-r1 exists but is not a recovery or relaunch of run-1" in plan.out
