"""``make_plan(desired, actual)``: pair each desired resource with what Admin has, and decide.

Pure: no I/O. ``needs`` says what ``fetch_actual`` must read for a given desired state, so the
command reads once, then plans.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reconciler.diagnostics import Diagnostic
from reconciler.manifests.execution import ExecutionManifest
from reconciler.manifests.launchplan import LaunchPlanManifest
from reconciler.manifests.load import Manifest
from reconciler.manifests.resolve import Resolved
from reconciler.manifests.signal import SignalManifest
from reconciler.plan import executions, launchplans, signals
from reconciler.plan.actual import Actual, EntityKey, Needs
from reconciler.plan.common import OWNER_KEY, Context, Problems
from reconciler.plan.model import Change, Plan

# Kinds whose planning is not built yet: planning them is refused rather than skipped, so a
# plan never looks complete while ignoring part of the tree.
_NOT_YET = {"Registration", "Backfill"}


@dataclass(frozen=True)
class Desired:
    """The manifests to reconcile, references resolved; ``written`` keeps them as in git."""

    resolved: Sequence[Resolved]
    written: Mapping[str, Manifest]

    def of_kind(self, kind: str) -> list[Resolved]:
        return [r for r in self.resolved if r.manifest.kind == kind]


def needs(desired: Desired, context: Context) -> Needs:
    launch_plans: set[EntityKey] = set()
    execution_keys: set[EntityKey] = set()
    workflows: set[tuple[str, str, str, str]] = set()
    scopes: set[tuple[str, str]] = set()
    signal_executions: set[EntityKey] = set()
    for item in desired.resolved:
        manifest = item.manifest
        model = manifest.model
        if isinstance(model, LaunchPlanManifest):
            launch_plans.add((manifest.project, manifest.domain, manifest.name))
            project, domain, name, version = launchplans.workflow_ref(manifest)
            launch_plans.add((project, domain, name))  # the workflow's default launch plan
            if version is not None:
                workflows.add((project, domain, name, version))
            scopes.add((manifest.project, manifest.domain))
        elif isinstance(model, ExecutionManifest):
            key = (manifest.project, manifest.domain, manifest.name)
            execution_keys.add(key)
            execution_keys.update(
                (manifest.project, manifest.domain, n) for n in executions.attempt_names(manifest)
            )
            ref = model.spec.launch_plan or model.spec.workflow
            if ref is not None:
                launch_plans.add(
                    (ref.project or manifest.project, ref.domain or manifest.domain, ref.name)
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
        signals=frozenset(signal_executions),
    )


def make_plan(desired: Desired, actual: Actual, context: Context) -> tuple[Plan, list[Diagnostic]]:
    problems = Problems()
    changes: list[Change] = []
    for item in desired.resolved:
        if item.manifest.kind in _NOT_YET:
            problems.add(
                item.manifest.diagnostic(
                    ("kind",),
                    f"planning {item.manifest.kind} manifests is not supported yet; leave them out "
                    "of the paths given to plan (validate checks them)",
                )
            )
    planned_lps: dict[EntityKey, launchplans.DesiredLaunchPlan] = {}
    for item in desired.of_kind("LaunchPlan"):
        built = launchplans.build(item.manifest, item.secrets, actual, context, problems)
        if built is not None:
            planned_lps[built.key] = built
            changes.append(launchplans.plan(built, actual, item.manifest.address))
    for item in desired.of_kind("Execution"):
        written = desired.written[item.manifest.address]
        built_execution = executions.build(
            item.manifest, written, item.secrets, actual, planned_lps, context, problems
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
