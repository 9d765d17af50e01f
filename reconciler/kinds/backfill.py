"""Plan one Backfill manifest: every schedule tick of the window has run, once.

The ticks come from the launch plan's cron (croniter) or fixed rate, **both ends inclusive**
(flytekit's ``create_backfill_workflow`` excludes both, although its docstring says otherwise;
ADMIN-SEMANTICS.md, Backfills). Uncovered ticks run as one backfill workflow built the way
flytekit builds it: a launch-plan node per tick named ``b-<tick>``, the kickoff input bound to
the tick (the launch plan's defaults apply to the rest), nodes chained in order unless
``parallel``, the failure policy on the workflow. Its version is a digest of the launch plan id,
the ticks and the options, so a changed launch plan or window gives a new workflow.

Runs are named ``<name>``, then ``<name>-2``, ``<name>-3``... as the window grows, and carry the
label ``reconciler.flyte.org/backfill: <name>``; the ticks a run covers are read back from its
workflow, so re-applying does nothing and extending the window runs only the new ticks.
A backfill is never in conflict nor updated: what is not covered is a new run. Provenance: the
runs carry the owner and commit labels too, never compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from croniter import croniter
from flyteidl.admin import common_pb2, execution_pb2, launch_plan_pb2, schedule_pb2, workflow_pb2
from flyteidl.core import identifier_pb2, interface_pb2, literals_pb2
from flyteidl.core import workflow_pb2 as core_workflow
from google.protobuf import timestamp_pb2

from reconciler.kinds import execution
from reconciler.kinds.base import Desired, Kind, Pair, Planning
from reconciler.kinds.execution import observed
from reconciler.kinds.versions import version_to_run
from reconciler.manifests.backfill import BackfillManifest
from reconciler.manifests.load import Manifest
from reconciler.manifests.resolve import Resolved
from reconciler.plan.calls import operation
from reconciler.plan.common import BACKFILL_KEY, COMMIT_KEY, OWNER_KEY, Context, digest
from reconciler.plan.model import Action, Change, Operation
from reconciler.read import Actual, EntityKey, Needs

MAX_RUNS = 50
MAX_TICKS = 10_000
_RATE = {
    schedule_pb2.MINUTE: timedelta(minutes=1),
    schedule_pb2.HOUR: timedelta(hours=1),
    schedule_pb2.DAY: timedelta(days=1),
}


def run_names(name: str) -> list[str]:
    """The names a backfill's runs take, in order."""
    return [name] + [f"{name}-{n}" for n in range(2, MAX_RUNS + 1)]


def launch_plan_key(manifest: Manifest[BackfillManifest]) -> EntityKey:
    ref = manifest.model.spec.launch_plan
    return (ref.project or manifest.project, ref.domain or manifest.domain, ref.name)


def ticks(schedule: schedule_pb2.Schedule, start: datetime, end: datetime) -> list[datetime]:
    """Every tick of ``schedule`` from ``start`` to ``end``, both included, in UTC."""
    found: list[datetime] = []
    # A tick past datetime's last instant (the end of 9999) is past ``end`` too: OverflowError
    # ends the walk there.
    if schedule.HasField("cron_schedule") or schedule.cron_expression:
        expression = schedule.cron_schedule.schedule or schedule.cron_expression
        try:
            base = start - timedelta(seconds=1)
        except OverflowError:  # the very first instant: a tick there is not found (croniter
            base = start  # itself cannot look back from it either)
        iterator = croniter(expression, base, ret_type=datetime)
        while len(found) <= MAX_TICKS:
            try:
                tick = iterator.get_next(datetime).astimezone(timezone.utc)
            except OverflowError:
                break
            if tick > end:
                break
            found.append(tick)
    else:
        step = _RATE[schedule.rate.unit] * schedule.rate.value
        tick = start
        while tick <= end and len(found) <= MAX_TICKS:
            found.append(tick)
            try:
                tick += step
            except OverflowError:
                break
    return found


def covered(actual: Actual, key: EntityKey) -> dict[datetime, str]:
    """Tick -> the run that covers it, read from the workflows of the backfill's runs."""
    project, domain, name = key
    found: dict[datetime, str] = {}
    for run_name in run_names(name):
        execution = actual.executions.get((project, domain, run_name))
        if execution is None or execution.spec.labels.values.get(BACKFILL_KEY) != name:
            continue
        lp = execution.spec.launch_plan
        workflow = actual.workflows.get((lp.project, lp.domain, lp.name, lp.version))
        if workflow is None:
            continue
        for node in workflow.closure.compiled_workflow.primary.template.nodes:
            when = _tick_of(node)
            if when is not None:
                found[when] = run_name
    return found


def _tick_of(node: core_workflow.Node) -> datetime | None:
    prefix = "b-"
    if not node.metadata.name.startswith(prefix):
        return None
    try:
        return datetime.fromisoformat(node.metadata.name[len(prefix) :]).astimezone(timezone.utc)
    except ValueError:
        return None


@dataclass(frozen=True)
class BackfillTarget:
    id: identifier_pb2.Identifier  # the launch plan version to run
    spec: launch_plan_pb2.LaunchPlanSpec


def plan(manifest: Manifest[BackfillManifest], planning: Planning) -> Change | None:
    actual, context, problems = planning.actual, planning.context, planning.problems
    spec = manifest.model.spec
    target = _target(manifest, planning)
    if target is None:
        return None
    schedule = target.spec.entity_metadata.schedule
    if not target.spec.entity_metadata.HasField("schedule"):
        problems.add(
            manifest.diagnostic(
                ("spec", "launchPlan"),
                f"launch plan {target.id.name} version {target.id.version} has no schedule",
            )
        )
        return None
    window = ticks(schedule, spec.start, spec.end)
    if len(window) > MAX_TICKS:
        problems.add(
            manifest.diagnostic(
                ("spec", "to"), f"the window holds more than {MAX_TICKS} ticks; split the backfill"
            )
        )
        return None
    key = (manifest.project, manifest.domain, manifest.name)
    done = covered(actual, key)
    todo = [t for t in window if t not in done]
    existing = [n for n in run_names(manifest.name) if (key[0], key[1], n) in actual.executions]
    seen = observed(actual, [(key[0], key[1], n) for n in run_names(manifest.name)])
    view = {
        "launchPlan": f"{target.id.name}@{target.id.version}",
        "ticks": [_iso(t) for t in todo],
        "covered": [_iso(t) for t in window if t in done],
        "parallel": spec.parallel,
        "failurePolicy": spec.failure_policy,
    }
    if not window:
        problems.add(manifest.diagnostic(("spec",), "the window holds no schedule tick"))
        return None
    if not todo:
        runs = ", ".join(sorted(set(done.values())))
        return Change(
            manifest.address,
            Action.NOOP,
            view,
            view,
            observed=seen,
            reason=f"all {len(window)} tick(s) ran in {runs}",
        )
    if len(existing) >= MAX_RUNS:
        problems.add(
            manifest.diagnostic(
                ("metadata", "name"), f"this backfill already ran {MAX_RUNS} times; start a new one"
            )
        )
        return None
    run = run_names(manifest.name)[len(existing)]
    return Change(
        manifest.address,
        Action.CREATE,
        None if not done else {"covered": view["covered"]},
        {**view, "execution": run},
        reason=f"{len(todo)} of {len(window)} tick(s) to run as {run}"
        + (f"; {len(done)} already ran" if done else ""),
        operations=_operations(manifest, target, todo, run, context),
        observed=seen,
    )


def _target(manifest: Manifest[BackfillManifest], planning: Planning) -> BackfillTarget | None:
    key = launch_plan_key(manifest)
    written = manifest.model.spec.launch_plan.version
    version = version_to_run("launch_plan", key, written, planning.desired, planning)
    declared = planning.launch_plans.get(key)
    if declared is not None and version == declared.version:
        return BackfillTarget(declared.id, declared.spec)
    stored = planning.actual.launch_plan(key, version) if version else None
    if stored is None:
        what = (
            f"version {written} in Admin"
            if written
            else "active version; give a version or declare it active"
        )
        planning.problems.add(
            manifest.diagnostic(
                ("spec", "launchPlan"), f"launch plan {'/'.join(key)} has no {what}"
            )
        )
        return None
    return BackfillTarget(stored.id, stored.spec)


def backfill_workflow(
    target: BackfillTarget, when: list[datetime], parallel: bool, failure_policy: str
) -> core_workflow.WorkflowTemplate:
    """The workflow flytekit's ``create_backfill_workflow`` builds for these ticks."""
    schedule = target.spec.entity_metadata.schedule
    kickoff = schedule.kickoff_time_input_arg
    nodes = []
    for index, tick in enumerate(when):
        # Only the kickoff input is bound, as flytekit binds it for a launch plan fetched from
        # Admin (launch_backfill): the launch plan's own defaults apply to each run.
        bindings: dict[str, literals_pb2.Literal] = {}
        if kickoff:
            stamp = timestamp_pb2.Timestamp()
            stamp.FromDatetime(tick)
            bindings[kickoff] = literals_pb2.Literal(
                scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(datetime=stamp))
            )
        node = core_workflow.Node(
            id=f"n{index}",
            metadata=core_workflow.NodeMetadata(
                name=f"b-{tick}", retries=literals_pb2.RetryStrategy(), interruptible=False
            ),
            inputs=[
                literals_pb2.Binding(
                    var=name, binding=literals_pb2.BindingData(scalar=value.scalar)
                )
                for name, value in sorted(bindings.items())
            ],
            workflow_node=core_workflow.WorkflowNode(launchplan_ref=target.id),
        )
        if not parallel and index:
            node.upstream_node_ids.append(f"n{index - 1}")
        nodes.append(node)
    policy = (
        core_workflow.WorkflowMetadata.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE
        if failure_policy == "continue"
        else core_workflow.WorkflowMetadata.FAIL_IMMEDIATELY
    )
    return core_workflow.WorkflowTemplate(
        metadata=core_workflow.WorkflowMetadata(on_failure=policy),
        interface=interface_pb2.TypedInterface(
            inputs=interface_pb2.VariableMap(), outputs=interface_pb2.VariableMap()
        ),
        nodes=nodes,
        metadata_defaults=core_workflow.WorkflowMetadataDefaults(),
    )


def _operations(
    manifest: Manifest[BackfillManifest],
    target: BackfillTarget,
    todo: list[datetime],
    run: str,
    context: Context,
) -> tuple[Operation, ...]:
    spec = manifest.model.spec
    version = digest(
        [
            [target.id.project, target.id.domain, target.id.name, target.id.version],
            [str(t) for t in todo],
            spec.parallel,
            spec.failure_policy,
        ]
    )
    name = f"backfill-{target.id.name}"

    def ident(resource: identifier_pb2.ResourceType) -> identifier_pb2.Identifier:
        return identifier_pb2.Identifier(
            resource_type=resource,
            project=manifest.project,
            domain=manifest.domain,
            name=name,
            version=version,
        )

    template = backfill_workflow(target, todo, spec.parallel, spec.failure_policy)
    template.id.CopyFrom(ident(identifier_pb2.WORKFLOW))
    workflow = workflow_pb2.WorkflowCreateRequest(
        id=ident(identifier_pb2.WORKFLOW), spec=workflow_pb2.WorkflowSpec(template=template)
    )
    # the workflow's default launch plan, through which it is executed (as FlyteRemote does)
    launch_plan = launch_plan_pb2.LaunchPlanCreateRequest(
        id=ident(identifier_pb2.LAUNCH_PLAN),
        spec=launch_plan_pb2.LaunchPlanSpec(
            workflow_id=ident(identifier_pb2.WORKFLOW),
            default_inputs=interface_pb2.ParameterMap(),
        ),
    )
    labels = {BACKFILL_KEY: manifest.name}
    if context.owner_id:
        labels[OWNER_KEY] = context.owner_id
    if context.commit:
        labels[COMMIT_KEY] = context.commit
    execution_spec = execution_pb2.ExecutionSpec(
        launch_plan=ident(identifier_pb2.LAUNCH_PLAN),
        metadata=execution_pb2.ExecutionMetadata(mode=execution_pb2.ExecutionMetadata.MANUAL),
        labels=common_pb2.Labels(values=labels),
        overwrite_cache=bool(spec.overwrite_cache),
    )
    execution = execution_pb2.ExecutionCreateRequest(
        project=manifest.project, domain=manifest.domain, name=run, spec=execution_spec
    )
    return (
        operation(workflow),
        operation(launch_plan),
        operation(execution),
    )


def _iso(tick: datetime) -> str:
    return tick.isoformat().replace("+00:00", "Z")


def workflows_to_read(
    manifest: Manifest[BackfillManifest], actual: Actual
) -> set[tuple[str, str, str, str]]:
    """The workflows of this backfill's runs, read after the runs themselves."""
    found = set()
    for run_name in run_names(manifest.name):
        execution = actual.executions.get((manifest.project, manifest.domain, run_name))
        if (
            execution is not None
            and execution.spec.labels.values.get(BACKFILL_KEY) == manifest.name
        ):
            lp = execution.spec.launch_plan
            found.add((lp.project, lp.domain, lp.name, lp.version))
    return found


def _needs(item: Resolved[BackfillManifest], desired: Desired, context: Context) -> Needs:
    return Needs(
        launch_plans=frozenset({launch_plan_key(item.manifest)}),
        executions=frozenset(_runs(item.manifest)),
    )


def _followups(item: Resolved[BackfillManifest], desired: Desired, actual: Actual) -> Needs:
    """The workflows of the backfill's runs, which say the ticks they ran."""
    return Needs(workflows=frozenset(workflows_to_read(item.manifest, actual)))


def _runs(manifest: Manifest[BackfillManifest]) -> tuple[EntityKey, ...]:
    return tuple((manifest.project, manifest.domain, n) for n in run_names(manifest.name))


def _pair(
    item: Resolved[BackfillManifest], planning: Planning
) -> Pair[BackfillManifest, list[execution_pb2.Execution]]:
    """Keyed by project, domain and name; Admin's side is the runs this backfill made."""
    manifest = item.manifest
    key = (manifest.project, manifest.domain, manifest.name)
    runs = [planning.actual.executions.get(k) for k in _runs(manifest)]
    return Pair(key, item, [r for r in runs if r is not None] or None)


def _plan(
    pair: Pair[BackfillManifest, list[execution_pb2.Execution]], planning: Planning
) -> Change | None:
    assert pair.desired is not None  # backfills are never pruned
    return plan(pair.desired.manifest, planning)


KIND = Kind(
    model=BackfillManifest,
    needs=_needs,
    followups=_followups,
    pair=_pair,
    plan=_plan,
    recheck=execution.recheck,
    digests=execution.digests,
    runs=_runs,
)
