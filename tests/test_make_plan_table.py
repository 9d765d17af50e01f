"""``make_plan`` on the in-memory Admin, a row per case: (manifests, what Admin holds) -> the
action per address; and for every row, apply then plan again leaves nothing to do but the
conflicts, which apply refuses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flyteidl.admin import launch_plan_pb2, signal_pb2, workflow_pb2
from flyteidl.core import types_pb2

from reconciler.apply.run import apply_plan
from tests.localadmin import builders as b
from tests.memadmin import MemoryAdmin, Phase
from tests.tables import (
    LP,
    OK,
    RUN,
    RUN_1,
    WEEKLY,
    State,
    actions,
    applied,
    launch_plan,
    plan,
    plan_and_problems,
    registered,
    run,
    signal,
    write,
)


def _nothing(admin: MemoryAdmin, root: Path) -> None:
    """Only the example workflow is registered."""


def _finished(phase: int) -> State:
    return lambda admin, root: admin.finish(RUN_1, phase)


def _gate(admin: MemoryAdmin, root: Path) -> None:
    admin.gate(RUN_1, "ok", b.BOOL)


def _someone_launches_run_1(admin: MemoryAdmin, root: Path) -> None:
    admin.create_execution(b.execution_request("run-1", launch_plan=b.lp_id("wf")))


def _someone_rejects(admin: MemoryAdmin, root: Path) -> None:
    [gate] = [s for s in admin.signals.values() if s.id.signal_id == "ok"]
    admin.set_signal(signal_pb2.SignalSetRequest(id=gate.id, value=b.bool_literal(False)))


def _default_active(admin: MemoryAdmin, root: Path) -> None:
    admin.update_launch_plan(
        launch_plan_pb2.LaunchPlanUpdateRequest(id=b.lp_id("wf"), state=launch_plan_pb2.ACTIVE)
    )


@dataclass(frozen=True)
class Row:
    manifests: Mapping[str, str]
    state: State
    expected: Mapping[str, str]
    prune: bool = False
    conflicts: frozenset[str] = field(default_factory=frozenset)


ROWS = {
    "a new launch plan is created": Row({"lp.yaml": launch_plan()}, _nothing, {LP: "create"}),
    "an applied launch plan is left alone": Row(
        {"lp.yaml": launch_plan()}, applied({"lp.yaml": launch_plan()}), {LP: "noop"}
    ),
    "another spec under the same version is a conflict": Row(
        {"lp.yaml": launch_plan(team="finance")},
        applied({"lp.yaml": launch_plan()}),
        {LP: "conflict"},
    ),
    "active: false deactivates": Row(
        {"lp.yaml": launch_plan(active="false")},
        applied({"lp.yaml": launch_plan()}),
        {LP: "deactivate"},
    ),
    "active: true activates the inactive version": Row(
        {"lp.yaml": launch_plan()},
        applied({"lp.yaml": launch_plan(active="false")}),
        {LP: "update"},
    ),
    "a new run is launched with its launch plan": Row(
        {"lp.yaml": launch_plan(), "run.yaml": run()}, _nothing, {LP: "create", RUN: "create"}
    ),
    "a launched run is left alone": Row(
        {"lp.yaml": launch_plan(), "run.yaml": run()},
        applied({"lp.yaml": launch_plan(), "run.yaml": run()}),
        {LP: "noop", RUN: "noop"},
    ),
    "a run launched with other inputs is a conflict": Row(
        {"lp.yaml": launch_plan(), "run.yaml": run(region="eu")},
        applied({"lp.yaml": launch_plan(), "run.yaml": run()}),
        {LP: "noop", RUN: "conflict"},
    ),
    "a run of that name launched by someone else is a conflict": Row(
        {"lp.yaml": launch_plan(), "run.yaml": run()},
        _someone_launches_run_1,
        {LP: "create", RUN: "conflict"},
    ),
    "state: terminated terminates a running run": Row(
        {"lp.yaml": launch_plan(), "run.yaml": run(state="terminated")},
        applied({"lp.yaml": launch_plan(), "run.yaml": run()}),
        {LP: "noop", RUN: "terminate"},
    ),
    "a finished run is not terminated": Row(
        {"lp.yaml": launch_plan(), "run.yaml": run(state="terminated")},
        applied({"lp.yaml": launch_plan(), "run.yaml": run()}, _finished(Phase.SUCCEEDED)),
        {LP: "noop", RUN: "noop"},
    ),
    "a failed run is recovered": Row(
        {"lp.yaml": launch_plan(), "run.yaml": run(on_failure="recover")},
        applied(
            {"lp.yaml": launch_plan(), "run.yaml": run(on_failure="recover")},
            _finished(Phase.FAILED),
        ),
        {LP: "noop", RUN: "recover"},
    ),
    "a failed run is relaunched": Row(
        {"lp.yaml": launch_plan(), "run.yaml": run(on_failure="relaunch")},
        applied(
            {"lp.yaml": launch_plan(), "run.yaml": run(on_failure="relaunch")},
            _finished(Phase.FAILED),
        ),
        {LP: "noop", RUN: "relaunch"},
    ),
    "a waiting gate is set": Row(
        {"lp.yaml": launch_plan(), "run.yaml": run(), "gate.yaml": signal()},
        applied({"lp.yaml": launch_plan(), "run.yaml": run()}, _gate),
        {LP: "noop", RUN: "noop", OK: "set"},
    ),
    "a gate already given our value is left alone": Row(
        {"lp.yaml": launch_plan(), "run.yaml": run(), "gate.yaml": signal()},
        applied(
            {"lp.yaml": launch_plan(), "run.yaml": run()},
            _gate,
            applied({"lp.yaml": launch_plan(), "run.yaml": run(), "gate.yaml": signal()}),
        ),
        {LP: "noop", RUN: "noop", OK: "noop"},
    ),
    "a gate given another value is a conflict": Row(
        {"lp.yaml": launch_plan(), "run.yaml": run(), "gate.yaml": signal()},
        applied({"lp.yaml": launch_plan(), "run.yaml": run()}, _gate, _someone_rejects),
        {LP: "noop", RUN: "noop", OK: "conflict"},
    ),
    "--prune deactivates an owned launch plan no manifest declares": Row(
        {"weekly.yaml": launch_plan(name="weekly")},
        applied({"lp.yaml": launch_plan()}),
        {WEEKLY: "create", LP: "deactivate"},
        prune=True,
    ),
    "--prune leaves launch plans of another owner": Row(
        {"weekly.yaml": launch_plan(name="weekly")},
        applied({"lp.yaml": launch_plan()}, owner="another-team"),
        {WEEKLY: "create"},
        prune=True,
    ),
    "--prune leaves launch plans that no one owns": Row(
        {"weekly.yaml": launch_plan(name="weekly")},
        _default_active,
        {WEEKLY: "create"},
        prune=True,
    ),
}


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_make_plan(row: Row, tmp_path: Path) -> None:
    admin = registered()
    row.state(admin, tmp_path / "before")
    made = plan(admin, write(tmp_path / "tree", row.manifests), prune=row.prune)
    assert actions(made) == row.expected


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_apply_then_plan_again_leaves_only_the_conflicts(row: Row, tmp_path: Path) -> None:
    admin = registered()
    row.state(admin, tmp_path / "before")
    root = write(tmp_path / "tree", row.manifests)
    results = apply_plan(plan(admin, root, prune=row.prune), admin)
    refused = {r.change.address for r in results if not r.ok}
    assert refused == {a for a, action in row.expected.items() if action == "conflict"}
    again = plan(admin, root, prune=row.prune)
    assert {c.address for c in again.changes if c.action.is_change} == refused


BACKFILL = """\
apiVersion: reconciler/v1
kind: Backfill
metadata: {name: jan}
spec:
  launchPlan: {name: daily}
  from: 2026-01-01T06:00:00Z
  to: 2026-01-02T06:00:00Z
"""


def test_no_version_is_never_the_version_the_same_plan_deactivates(tmp_path: Path) -> None:
    """A run or backfill that names no version runs the active one. When the plan deactivates
    the version Admin has active, none is active once it is applied: the plan says so before
    writing anything. (Found in review: the Backfill kind resolved to that version, launched
    runs of it, and every plan after the apply failed, as no version was active any more.)"""
    admin = registered()
    applied({"lp.yaml": launch_plan()})(admin, tmp_path / "before")
    root = write(
        tmp_path / "tree",
        {"lp.yaml": launch_plan(active="false"), "jan.yaml": BACKFILL, "run.yaml": run()},
    )
    made, problems = plan_and_problems(admin, root)
    assert actions(made) == {LP: "deactivate"}
    said = sorted(str(p) for p in problems)
    assert len(said) == 2, said
    assert all("has no active version; give a version or declare it active" in p for p in said)


def test_a_structured_input_with_a_path_field_does_not_depend_on_a_local_file(
    tmp_path: Path,
) -> None:
    """``{path: ./notes.txt}`` given to a structured (dataclass) input is an ordinary value,
    sent as written: the run's identity (its spec digest) must not change with the content of
    a local file that happens to be there. (Found in review: the digest covered the MD5 of
    every local file an input named, used or not, so editing that file made the launched run
    a conflict.)"""
    admin = registered()
    struct = types_pb2.LiteralType(simple=types_pb2.SimpleType.STRUCT)
    workflow = b.workflow_id("cfg")
    admin.create_workflow(
        workflow_pb2.WorkflowCreateRequest(
            id=workflow, spec=b.workflow_spec(inputs={"a": b.INT, "cfg": struct})
        )
    )
    admin.create_launch_plan(
        launch_plan_pb2.LaunchPlanCreateRequest(
            id=b.lp_id("cfg"), spec=b.lp_spec(workflow, types={"a": b.INT, "cfg": struct})
        )
    )
    manifest = """\
apiVersion: reconciler/v1
kind: Execution
metadata: {name: with-cfg}
spec:
  workflow: {name: cfg, version: v1}
  inputs: {a: 1, cfg: {path: ./notes.txt}}
"""
    root = write(tmp_path / "tree", {"run.yaml": manifest})
    (root / "notes.txt").write_text("first\n")
    results = apply_plan(plan(admin, root), admin)
    assert all(r.ok for r in results), [r.message for r in results]
    (root / "notes.txt").write_text("edited\n")
    assert actions(plan(admin, root)) == {f"Execution/{b.PROJECT}/{b.DOMAIN}/with-cfg": "noop"}
