"""What the table-driven tests of plan and apply share: manifests to write, an in-memory Admin
with the example workflow registered, and the read -> plan steps run against it.

The example, as ``tests/engine/conftest.py`` registers it in the local Admin: task ``t``,
workflow ``wf`` (a: int, region: str = "eu", run_date: datetime) and its default launch plan,
at version v1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from flyteidl.admin import launch_plan_pb2, task_pb2, workflow_pb2

from reconciler.apply.run import Result, apply_plan
from reconciler.diagnostics import Diagnostic, has_errors
from reconciler.pipeline import AdminOptions, context_for, load_desired
from reconciler.plan.make import followups, make_plan, needs
from reconciler.plan.model import Plan
from reconciler.read import fetch_actual
from tests.localadmin import builders as b
from tests.memadmin import MemoryAdmin

PROJECT, DOMAIN = b.PROJECT, b.DOMAIN
WORKFLOW_INPUTS = {"a": b.INT, "region": b.STR, "run_date": b.DATETIME}
RUN_1 = (PROJECT, DOMAIN, "run-1")
LP = f"LaunchPlan/{PROJECT}/{DOMAIN}/daily"
WEEKLY = f"LaunchPlan/{PROJECT}/{DOMAIN}/weekly"
RUN = f"Execution/{PROJECT}/{DOMAIN}/run-1"
OK = f"Signal/{PROJECT}/{DOMAIN}/run-1/ok"


def launch_plan(*, active: str = "true", team: str = "analytics", name: str = "daily") -> str:
    return f"""\
apiVersion: reconciler/v1
kind: LaunchPlan
metadata: {{name: {name}}}
spec:
  version: v1
  workflow: {{name: wf, version: v1}}
  active: {active}
  schedule: {{cron: "0 6 * * *", kickoffTimeInputArg: run_date}}
  defaultInputs: {{a: 3}}
  labels: {{team: {team}}}
"""


def run(*, region: str = "us", state: str = "launched", on_failure: str = "none") -> str:
    return f"""\
apiVersion: reconciler/v1
kind: Execution
metadata: {{name: run-1}}
spec:
  launchPlan: {{name: daily}}
  inputs: {{run_date: 2026-11-30T00:00:00Z, region: {region}}}
  state: {state}
  onFailure: {on_failure}
"""


def signal(*, approve: bool = True) -> str:
    given = "approve" if approve else "reject"
    return f"""\
apiVersion: reconciler/v1
kind: Signal
metadata: {{name: gate-of-run-1}}
spec: {{execution: run-1, signalId: ok, {given}: true}}
"""


def registered(admin: MemoryAdmin | None = None) -> MemoryAdmin:
    """An Admin (a new one by default) with the example workflow registered, as pyflyte
    leaves it."""
    admin = admin or MemoryAdmin()
    admin.create_task(task_pb2.TaskCreateRequest(id=b.task_id(), spec=b.task_spec()))
    workflow = b.workflow_id()
    admin.create_workflow(
        workflow_pb2.WorkflowCreateRequest(
            id=workflow, spec=b.workflow_spec(inputs=WORKFLOW_INPUTS)
        )
    )
    default = b.lp_spec(workflow, defaults={"region": b.str_literal("eu")}, types=WORKFLOW_INPUTS)
    admin.create_launch_plan(
        launch_plan_pb2.LaunchPlanCreateRequest(id=b.lp_id("wf"), spec=default)
    )
    return admin


def write(root: Path, manifests: Mapping[str, str], owner: str = "team-manifests") -> Path:
    """The manifests as files of a fresh tree at ``root``, with its ``reconciler.yaml``."""
    root.mkdir(parents=True, exist_ok=True)
    for old in root.glob("*.yaml"):
        old.unlink()
    (root / "reconciler.yaml").write_text(
        f"defaults: {{project: {PROJECT}, domain: {DOMAIN}}}\nownerId: {owner}\n"
    )
    for name, text in manifests.items():
        (root / name).write_text(text)
    return root


def plan(admin: MemoryAdmin, root: Path, *, prune: bool = False) -> Plan:
    """The data flow from load to plan, with the in-memory Admin as the remote."""
    made, problems = plan_and_problems(admin, root, prune=prune)
    assert not has_errors(problems), problems
    return made


def plan_and_problems(
    admin: MemoryAdmin, root: Path, *, prune: bool = False
) -> tuple[Plan, list[Diagnostic]]:
    """``plan``, and the problems it found instead of failing on them."""
    options = AdminOptions(paths=(root,), prune=prune)
    # as plan reads them: Registration packages and local input files too
    desired, settings = load_desired(options, {}, packages=True)
    context = context_for(settings, options, None)
    actual = fetch_actual(admin, needs(desired, context))
    actual.merge(fetch_actual(admin, followups(desired, actual)))
    return make_plan(desired, actual, context)


def actions(made: Plan) -> dict[str, str]:
    return {c.address: c.action.value for c in made.changes}


State = Callable[[MemoryAdmin, Path], None]
"""Brings an Admin to a state, writing any manifests it applies for that under the path."""


def applied(manifests: Mapping[str, str], *then: State, owner: str = "team-manifests") -> State:
    """An Admin state: ``manifests`` planned and applied, then the ``then`` states reached."""

    def state(admin: MemoryAdmin, root: Path) -> None:
        results = apply_plan(plan(admin, write(root, manifests, owner)), admin)
        assert all(r.ok for r in results), [r.message for r in results if not r.ok]
        for number, step in enumerate(then):
            step(admin, root / f"then-{number}")

    return state


def apply(admin: MemoryAdmin, made: Plan) -> dict[str, Result]:
    return {r.change.address: r for r in apply_plan(made, admin)}
