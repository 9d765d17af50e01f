"""``make_plan(desired, actual)``: pair each desired resource with what Admin has, and decide.

Pure: no I/O. ``needs`` says what ``fetch_actual`` must read for a given desired state, so the
command reads once, then plans.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from flyteidl.admin import launch_plan_pb2, workflow_pb2
from flyteidl.core import compiler_pb2, identifier_pb2

from reconciler.diagnostics import Diagnostic
from reconciler.manifests.backfill import BackfillManifest
from reconciler.manifests.execution import ExecutionManifest
from reconciler.manifests.files import LocalFile
from reconciler.manifests.launchplan import LaunchPlanManifest
from reconciler.manifests.load import Manifest
from reconciler.manifests.resolve import Resolved
from reconciler.manifests.signal import SignalManifest
from reconciler.plan import backfill, executions, launchplans, registration, signals
from reconciler.plan import files as local_files
from reconciler.plan.common import OWNER_KEY, SPEC_KEY, Context, Problems
from reconciler.plan.model import Change, Plan
from reconciler.read import Actual, EntityKey, Needs


@dataclass(frozen=True)
class Desired:
    """The manifests to reconcile, references resolved; ``written`` keeps them as in git."""

    resolved: Sequence[Resolved]
    written: Mapping[str, Manifest]
    registrations: Mapping[str, registration.DesiredRegistration] = field(default_factory=dict)
    """Registration manifests with their packages read, by address."""
    files: Mapping[str, Mapping[str, LocalFile]] = field(default_factory=dict)
    """The local files Execution manifests give as inputs, by address, then input name."""

    def registered_version(
        self, project: str, domain: str, name: str, kind: str = "workflow"
    ) -> str | None:
        return registration.version_of(self.registrations, project, domain, name, kind)

    def of_kind(self, kind: str) -> list[Resolved]:
        return [r for r in self.resolved if r.manifest.kind == kind]


def needs(desired: Desired, context: Context) -> Needs:
    launch_plans: set[EntityKey] = set()
    execution_keys: set[EntityKey] = set()
    workflows: set[tuple[str, str, str, str]] = set()
    scopes: set[tuple[str, str]] = set()
    signal_executions: set[EntityKey] = set()
    registered: set[tuple[str, str, str, str, str]] = set()
    uploads: set[tuple[str, str, str, str, bytes]] = set()
    for planned in desired.registrations.values():
        registered.update(planned.key(e) for e in planned.package.entities)
        code = planned.package.code
        if code is not None:
            uploads.add((planned.project, planned.domain, code.digest, code.filename, code.md5))
    for item in desired.resolved:
        manifest = item.manifest
        model = manifest.model
        if isinstance(model, LaunchPlanManifest):
            launch_plans.add((manifest.project, manifest.domain, manifest.name))
            project, domain, name, version = launchplans.workflow_ref(manifest)
            launch_plans.add((project, domain, name))  # the workflow's default launch plan
            version = version or desired.registered_version(project, domain, name)
            if version is not None:
                workflows.add((project, domain, name, version))
            scopes.add((manifest.project, manifest.domain))
        elif isinstance(model, ExecutionManifest):
            key = (manifest.project, manifest.domain, manifest.name)
            execution_keys.add(key)
            files = desired.files.get(manifest.address, {})
            uploads |= local_files.upload_needs(manifest.project, manifest.domain, files)
            execution_keys.update(
                (manifest.project, manifest.domain, n) for n in executions.attempt_names(manifest)
            )
            task = model.spec.task
            if task is not None:
                project, domain = task.project or manifest.project, task.domain or manifest.domain
                version = task.version or desired.registered_version(
                    project, domain, task.name, "task"
                )
                if version is not None:
                    registered.add(("task", project, domain, task.name, version))
            ref = model.spec.launch_plan or model.spec.workflow
            if ref is not None:
                launch_plans.add(
                    (ref.project or manifest.project, ref.domain or manifest.domain, ref.name)
                )
        elif isinstance(model, BackfillManifest):
            launch_plans.add(backfill.launch_plan_key(manifest))
            execution_keys.update(
                (manifest.project, manifest.domain, n) for n in backfill.run_names(manifest.name)
            )
        elif isinstance(model, SignalManifest):
            key = signals.execution_key(manifest)
            signal_executions.add(key)
            execution_keys.add(key)
    return Needs(
        launch_plans=frozenset(launch_plans),
        executions=frozenset(execution_keys),
        workflows=frozenset(workflows),
        prune_scopes=frozenset(scopes) if context.prune else frozenset(),
        prune_everywhere=context.prune,
        shard=context.shard,
        signals=frozenset(signal_executions),
        registered=frozenset(registered),
        uploads=frozenset(uploads),
    )


def followups(desired: Desired, actual: Actual) -> Needs:
    """What can only be read once the first read is in: the workflows of backfill runs, and
    the inputs of executions launched from another spec (their conflict shows them)."""
    workflows: set[tuple[str, str, str, str]] = set()
    for item in desired.of_kind("Backfill"):
        workflows |= backfill.workflows_to_read(item.manifest, actual)
    inputs = set()
    for item in desired.of_kind("Execution"):
        key = (item.manifest.project, item.manifest.domain, item.manifest.name)
        stored = actual.executions.get(key)
        written = desired.written[item.manifest.address]
        files = desired.files.get(item.manifest.address)
        if stored is not None and stored.spec.labels.values.get(SPEC_KEY) != executions.spec_digest(
            written, files
        ):
            inputs.add(key)
    return Needs(
        workflows=frozenset(w for w in workflows if w not in actual.workflows),
        execution_inputs=frozenset(k for k in inputs if k not in actual.execution_inputs),
    )


def make_plan(desired: Desired, actual: Actual, context: Context) -> tuple[Plan, list[Diagnostic]]:
    problems = Problems()
    changes: list[Change] = []
    for _, planned in sorted(desired.registrations.items()):
        changes.append(registration.plan(planned, actual))
    declared = {
        (r.manifest.project, r.manifest.domain, r.manifest.name)
        for r in desired.of_kind("LaunchPlan")
    }
    # What the registrations will register, visible to the launch plans and executions that
    # use it in this same plan.
    actual = _with_registrations(actual, desired.registrations.values(), declared)
    planned_lps: dict[EntityKey, launchplans.DesiredLaunchPlan] = {}
    for item in desired.of_kind("LaunchPlan"):
        project, domain, name, _ = launchplans.workflow_ref(item.manifest)
        built = launchplans.build(
            item.manifest,
            item.secrets,
            actual,
            context,
            problems,
            registered_version=desired.registered_version(project, domain, name),
        )
        if built is not None:
            built = launchplans.settle(built, actual)
            planned_lps[built.key] = built
            changes.append(launchplans.plan(built, actual, item.manifest.address))
    for item in desired.of_kind("Execution"):
        written = desired.written[item.manifest.address]
        spec = item.manifest.model.spec  # type: ignore[attr-defined]
        target, kind = (spec.task, "task") if spec.task is not None else (spec.workflow, "workflow")
        built_execution = executions.build(
            item.manifest,
            written,
            item.secrets,
            actual,
            planned_lps,
            context,
            problems,
            registered_version=(
                desired.registered_version(
                    target.project or item.manifest.project,
                    target.domain or item.manifest.domain,
                    target.name,
                    kind,
                )
                if target is not None
                else None
            ),
            planned_task=lambda key: registration.task_interface(desired.registrations, key),
            files=desired.files.get(item.manifest.address),
        )
        if built_execution is not None:
            changes.append(
                executions.plan(
                    built_execution,
                    actual,
                    item.manifest.address,
                    executions.attempt_names(item.manifest),
                )
            )
    for item in desired.of_kind("Backfill"):
        backfill_change = backfill.plan(item.manifest, actual, planned_lps, context, problems)
        if backfill_change is not None:
            changes.append(backfill_change)
    for item in desired.of_kind("Signal"):
        signal_change = signals.plan(item.manifest, item.secrets, actual, problems)
        if signal_change is not None:
            changes.append(signal_change)
    if context.prune:
        changes.extend(_prune(actual, planned_lps, context))
    return Plan.of(changes), problems.items


def _prune(actual: Actual, planned: Mapping[EntityKey, object], context: Context) -> list[Change]:
    """Owned, active launch plans in the manifests' project/domains that no manifest declares.

    Only launch plans that carry this repository's owner id are touched (DESIGN.md, Guarantees);
    executions are never pruned.
    """
    found = []
    for (project, domain), active in sorted(actual.active_in_scope.items()):
        for stored in active:
            key = (project, domain, stored.id.name)
            owner = stored.spec.annotations.values.get(OWNER_KEY)
            if key in planned or owner is None or owner != context.owner_id:
                continue
            address = f"LaunchPlan/{project}/{domain}/{stored.id.name}"
            found.append(launchplans.prune_change(stored, address, actual))
    return found


def _with_registrations(
    actual: Actual,
    planned: Iterable[registration.DesiredRegistration],
    declared: set[EntityKey],
) -> Actual:
    """``actual`` plus the workflows and (inactive) launch plans the registrations create."""
    merged = copy.copy(actual)
    merged.workflows = dict(actual.workflows)
    merged.launch_plans = {k: list(v) for k, v in actual.launch_plans.items()}
    for item in planned:
        for name, spec in item.workflows().items():
            key = (item.project, item.domain, name, item.version)
            if key not in merged.workflows:
                merged.workflows[key] = workflow_pb2.Workflow(
                    id=identifier_pb2.Identifier(
                        resource_type=identifier_pb2.WORKFLOW,
                        project=item.project,
                        domain=item.domain,
                        name=name,
                        version=item.version,
                    ),
                    closure=workflow_pb2.WorkflowClosure(
                        compiled_workflow=compiler_pb2.CompiledWorkflowClosure(
                            primary=compiler_pb2.CompiledWorkflow(template=spec.template)
                        )
                    ),
                )
        for name, plan_spec in item.launch_plans().items():
            key3 = (item.project, item.domain, name)
            if key3 in declared or merged.launch_plan(key3, item.version) is not None:
                continue
            merged.launch_plans.setdefault(key3, []).append(
                launch_plan_pb2.LaunchPlan(
                    id=plan_spec.id,
                    spec=plan_spec.spec,
                    closure=launch_plan_pb2.LaunchPlanClosure(
                        state=launch_plan_pb2.INACTIVE,
                        expected_inputs=plan_spec.spec.default_inputs,
                    ),
                )
            )
    return merged
