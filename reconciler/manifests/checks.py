"""Checks that need more than one field, or more than one manifest, and no Admin.

Each check returns diagnostics placed on the exact field at fault and, when two manifests are
involved, names the other one's location too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from reconciler.diagnostics import Diagnostic, Severity
from reconciler.manifests.attributes import AttributesManifest
from reconciler.manifests.backfill import BackfillManifest
from reconciler.manifests.execution import ExecutionManifest, attempt_name
from reconciler.manifests.fields import EXECUTION_NAME_MAX, EntityRef
from reconciler.manifests.launchplan import LaunchPlanManifest
from reconciler.manifests.manifest import Manifest
from reconciler.manifests.registration import RegistrationManifest


def check_tree(manifests: Sequence[Manifest]) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    for manifest in manifests:
        problems.extend(_check_one(manifest))
    problems.extend(_duplicates(manifests))
    problems.extend(_execution_names(manifests))
    problems.extend(_attribute_scopes(manifests))
    launch_plans = {
        (m.project, m.domain, m.name): m
        for m in manifests
        if isinstance(m.model, LaunchPlanManifest)
    }
    registered = {(m.project, m.domain) for m in manifests if m.kind == "Registration"}
    for manifest in manifests:
        problems.extend(_references(manifest, launch_plans, registered))
    return problems


def _check_one(manifest: Manifest) -> Iterator[Diagnostic]:
    model = manifest.model
    if isinstance(model, LaunchPlanManifest):
        spec = model.spec
        kickoff = spec.schedule.kickoff_time_input_arg if spec.schedule else None
        if kickoff is not None and kickoff in spec.fixed_inputs:
            yield manifest.diagnostic(
                ("spec", "schedule", "kickoffTimeInputArg"),
                f"kickoff input {kickoff!r} is a fixed input; Admin needs it free to fill in "
                "each run's scheduled time",
            )
        for name in sorted(set(spec.default_inputs) & set(spec.fixed_inputs)):
            yield manifest.diagnostic(
                ("spec", "fixedInputs", name),
                f"input {name!r} is both a default and a fixed input; the fixed value wins",
                key=True,
                severity=Severity.WARNING,
            )
    elif isinstance(model, ExecutionManifest):
        on_failure = model.spec.on_failure
        last = attempt_name(model.name, on_failure.max_attempts)
        if on_failure.action != "none" and len(last) > EXECUTION_NAME_MAX:
            yield manifest.diagnostic(
                ("metadata", "name"),
                f"with onFailure {on_failure.action} the last attempt is named {last!r}, longer "
                f"than Admin's {EXECUTION_NAME_MAX} characters; shorten the name",
            )
    elif isinstance(model, BackfillManifest):
        if model.spec.start > model.spec.end:
            yield manifest.diagnostic(
                ("spec", "to"),
                f"'to' ({model.spec.end.isoformat()}) is before 'from' "
                f"({model.spec.start.isoformat()})",
            )
    elif isinstance(model, AttributesManifest):
        if model.spec.workflow is not None and model.metadata.domain is None:
            yield manifest.diagnostic(
                ("spec", "workflow"),
                "workflow attributes are per domain: set metadata.domain too",
            )
    elif isinstance(model, RegistrationManifest):
        if model.spec.package is not None:
            yield from _missing_path(manifest, ("spec", "package"), model.spec.package)
        if model.spec.source is not None:
            yield from _missing_path(manifest, ("spec", "source", "path"), model.spec.source.path)


def _missing_path(manifest: Manifest, path: tuple[str, ...], value: str) -> Iterator[Diagnostic]:
    target = manifest.source.parent / value
    if "${" not in value and not target.exists():
        # A warning: archives are often built by the CI job that then runs the reconciler.
        yield manifest.diagnostic(
            path,
            f"{value!r} does not exist (relative to this file); it must exist at plan time",
            severity=Severity.WARNING,
        )


def _duplicates(manifests: Sequence[Manifest]) -> Iterator[Diagnostic]:
    first: dict[str, Manifest] = {}
    for manifest in manifests:
        seen = first.setdefault(manifest.address, manifest)
        if seen is not manifest:
            yield manifest.diagnostic(
                ("metadata", "name"),
                f"duplicate {manifest.address}, first declared at {seen.location()}",
            )


def _execution_names(manifests: Sequence[Manifest]) -> Iterator[Diagnostic]:
    """Executions and backfills (and retries) share one execution namespace per project/domain."""
    owners: dict[tuple[str, str, str], tuple[Manifest, str]] = {}
    for manifest in manifests:
        model = manifest.model
        names: list[tuple[str, str]] = []
        if isinstance(model, ExecutionManifest | BackfillManifest):
            names.append((model.name, f"{manifest.kind} {model.name!r}"))
        if isinstance(model, ExecutionManifest) and model.spec.on_failure.action != "none":
            for attempt in range(1, model.spec.on_failure.max_attempts + 1):
                name = attempt_name(model.name, attempt)
                names.append((name, f"attempt {attempt} of Execution {model.name!r}"))
        for name, what in names:
            key = (manifest.project, manifest.domain, name)
            owner = owners.setdefault(key, (manifest, what))
            if owner[0] is not manifest and owner[0].address != manifest.address:
                yield manifest.diagnostic(
                    ("metadata", "name"),
                    f"execution name {name!r} ({what}) is also used by {owner[1]} at "
                    f"{owner[0].location()}",
                )


def _attribute_scopes(manifests: Sequence[Manifest]) -> Iterator[Diagnostic]:
    """Admin holds one set of attributes per level: two manifests for one would undo each
    other at every apply."""
    first: dict[tuple[str, str, str], Manifest] = {}
    for manifest in manifests:
        model = manifest.model
        if not isinstance(model, AttributesManifest):
            continue
        seen = first.setdefault(model.scope, manifest)
        if seen is not manifest and seen.address != manifest.address:
            yield manifest.diagnostic(
                ("metadata", "name"),
                f"attributes for the same level as {seen.address} (at {seen.location()}); "
                "one manifest per project, project-domain or workflow",
            )


def _references(
    manifest: Manifest,
    launch_plans: dict[tuple[str, str, str], Manifest],
    registered: set[tuple[str, str]],
) -> Iterator[Diagnostic]:
    model = manifest.model
    if isinstance(model, LaunchPlanManifest) and model.spec.workflow.version is None:
        ref = model.spec.workflow
        where = (ref.project or manifest.project, ref.domain or manifest.domain)
        if where not in registered:
            yield manifest.diagnostic(
                ("spec", "workflow"),
                "workflow.version is required unless a Registration manifest registers "
                f"{where[0]}/{where[1]} in this tree",
            )
    if isinstance(model, BackfillManifest):
        target = declared_launch_plan(manifest, model.spec.launch_plan, launch_plans)
        if target is not None:
            lp = target.model
            assert isinstance(lp, LaunchPlanManifest)
            if lp.spec.schedule is None:
                yield manifest.diagnostic(
                    ("spec", "launchPlan"),
                    f"launch plan {lp.name!r} (declared at {target.location()}) has no "
                    "schedule; a backfill runs a scheduled launch plan's ticks",
                )
    if isinstance(model, ExecutionManifest) and model.spec.launch_plan is not None:
        target = declared_launch_plan(manifest, model.spec.launch_plan, launch_plans)
        if target is not None:
            lp = target.model
            assert isinstance(lp, LaunchPlanManifest)
            for name in sorted(set(model.spec.inputs) & set(lp.spec.fixed_inputs)):
                yield manifest.diagnostic(
                    ("spec", "inputs", name),
                    f"input {name!r} is fixed by launch plan {lp.name!r} (at "
                    f"{target.location('spec', 'fixedInputs', name)}); Admin refuses to "
                    "override fixed inputs",
                    key=True,
                )
            if model.spec.launch_plan.version is None and not lp.spec.active:
                yield manifest.diagnostic(
                    ("spec", "launchPlan"),
                    f"no version means the active version, but launch plan {lp.name!r} is "
                    f"declared inactive at {target.location()}",
                    severity=Severity.WARNING,
                )


def declared_launch_plan(
    manifest: Manifest, ref: EntityRef, launch_plans: dict[tuple[str, str, str], Manifest]
) -> Manifest | None:
    """The tree's LaunchPlan manifest that ``ref`` points at, when the tree decides it.

    A reference to another version than the one declared may point at an older version that
    Admin still has; only Admin can tell, so such a reference is checked at plan time.
    """
    key = (ref.project or manifest.project, ref.domain or manifest.domain, ref.name)
    target = launch_plans.get(key)
    if target is None:
        return None
    lp = target.model
    assert isinstance(lp, LaunchPlanManifest)
    if ref.version is not None and ref.version != lp.spec.version:
        return None
    return target
