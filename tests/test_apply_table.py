"""``apply_plan`` on the in-memory Admin, a row per case: a plan made, Admin changed (by another
client, or by an earlier attempt of this apply) before it is applied -> what apply says per
address. Each write call's rule for when ALREADY_EXISTS counts as done is in the registry
(``reconciler.plan.calls``); these rows hold it to that."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from flyteidl.admin import execution_pb2, signal_pb2

from reconciler.errors import AlreadyExists, ReconcilerError
from reconciler.plan.calls import CALLS, call_of, operation
from reconciler.plan.model import Operation, Plan
from tests.localadmin import builders as b
from tests.memadmin import MemoryAdmin, Phase
from tests.tables import (
    LP,
    OK,
    RUN,
    RUN_1,
    State,
    applied,
    apply,
    launch_plan,
    plan,
    registered,
    run,
    signal,
    write,
)

FOUND = "nothing to do: Admin already holds it as planned, made by another client"
LOST = FOUND + ", or by an earlier attempt of this apply whose answer was lost"


Between = Callable[[MemoryAdmin, Plan], None]
"""What happens to Admin between the plan and its apply."""


class _Retrying(MemoryAdmin):
    """An Admin whose ALREADY_EXISTS to a launch comes on a retry: perhaps the first attempt,
    whose answer was lost, made the run."""

    def create_execution(self, request: execution_pb2.ExecutionCreateRequest) -> None:
        try:
            super().create_execution(request)
        except AlreadyExists as exc:
            exc.attempts = 2
            raise


def _gate(admin: MemoryAdmin, root: Path) -> None:
    admin.gate(RUN_1, "ok", b.BOOL)


def _failed(admin: MemoryAdmin, root: Path) -> None:
    admin.finish(RUN_1, Phase.FAILED)


def _applied_first(admin: MemoryAdmin, made: Plan) -> None:
    """Another apply of the same plan got there first."""
    assert all(r.ok for r in apply(admin, made).values())


def _finished(admin: MemoryAdmin, made: Plan) -> None:
    admin.finish(RUN_1, Phase.SUCCEEDED)


def _someone_launches_run_1(admin: MemoryAdmin, made: Plan) -> None:
    admin.create_execution(b.execution_request("run-1", launch_plan=b.lp_id("wf")))


def _set_ok(value: bool) -> Between:
    def between(admin: MemoryAdmin, made: Plan) -> None:
        [gate] = [s for s in admin.signals.values() if s.id.signal_id == "ok"]
        admin.set_signal(signal_pb2.SignalSetRequest(id=gate.id, value=b.bool_literal(value)))

    return between


@dataclass(frozen=True)
class Row:
    manifests: Mapping[str, str]
    state: State | None
    between: Between
    expected: Mapping[str, tuple[bool, str]]
    """address -> (ok, what the result's message says)"""
    admin: Callable[[], MemoryAdmin] = MemoryAdmin


BOTH = {"lp.yaml": launch_plan(), "run.yaml": run()}
ROWS = {
    "a launch plan and run another apply made are found": Row(
        BOTH,
        None,
        _applied_first,
        {
            LP: (
                True,
                "activated 1 launch plan; 1 launch plan version was already there, made by "
                "another client",
            ),
            RUN: (True, FOUND),
        },
    ),
    "a run found on a retry may be our own lost attempt": Row(
        BOTH, None, _applied_first, {RUN: (True, LOST)}, admin=_Retrying
    ),
    "a run of that name launched by someone else is refused": Row(
        BOTH,
        None,
        _someone_launches_run_1,
        {LP: (True, "created"), RUN: (False, "execution run-1 already exists")},
    ),
    "a run that finished since the plan needs no terminate": Row(
        {"lp.yaml": launch_plan(), "run.yaml": run(state="terminated")},
        applied(BOTH),
        _finished,
        {RUN: (True, "the run had already finished; nothing to terminate")},
    ),
    "a recovery another apply launched is found": Row(
        {"lp.yaml": launch_plan(), "run.yaml": run(on_failure="recover")},
        applied({"lp.yaml": launch_plan(), "run.yaml": run(on_failure="recover")}, _failed),
        _applied_first,
        {RUN: (True, "nothing to do: the recovery was already launched, made by another client")},
    ),
    "a gate given our value since the plan is found": Row(
        {**BOTH, "gate.yaml": signal()},
        applied(BOTH, _gate),
        _set_ok(True),
        {OK: (True, "nothing to do: the signal was already set to this value")},
    ),
    "a gate given another value since the plan is refused": Row(
        {**BOTH, "gate.yaml": signal()},
        applied(BOTH, _gate),
        _set_ok(False),
        {OK: (False, "refused: signal 'ok' of run-1 was set to another value since the plan")},
    ),
}


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_apply(row: Row, tmp_path: Path) -> None:
    admin = registered(row.admin())
    if row.state is not None:
        row.state(admin, tmp_path / "before")
    made = plan(admin, write(tmp_path / "tree", row.manifests))
    row.between(admin, made)
    results = apply(admin, made)
    said = {address: (results[address].ok, results[address].message) for address in row.expected}
    for address, (ok, message) in row.expected.items():
        assert said[address][0] is ok, said
        assert message in said[address][1], said


def test_every_call_a_plan_may_hold_is_known_by_its_request_type() -> None:
    # saved plans name their calls: these names are a format and stay
    assert sorted(CALLS) == [
        "CreateExecution",
        "CreateLaunchPlan",
        "CreateTask",
        "CreateWorkflow",
        "DeleteProjectAttributes",
        "DeleteProjectDomainAttributes",
        "DeleteWorkflowAttributes",
        "RecoverExecution",
        "RegisterProject",
        "RelaunchExecution",
        "SetSignal",
        "TerminateExecution",
        "UpdateLaunchPlan",
        "UpdateProject",
        "UpdateProjectAttributes",
        "UpdateProjectDomainAttributes",
        "UpdateWorkflowAttributes",
        "UploadPackage",
    ]
    for name, call in CALLS.items():
        made = operation(call.request())
        assert made.call == name
        assert call_of(made) is call


def test_an_unknown_call_in_a_plan_is_refused() -> None:
    with pytest.raises(ReconcilerError, match="unknown call 'DeleteProject'"):
        call_of(Operation("DeleteProject", b""))
