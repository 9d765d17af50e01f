"""Plan one Execution manifest against the run Admin has under that name (and its attempts).

An execution cannot change once launched, so a changed manifest is a ``conflict``, never a
silent relaunch. The reconciler labels what it launches with a digest of the manifest's spec as
written in git (``reconciler.flyte.org/spec``): comparing digests needs no extra read, a secret
rotated in the environment does not count as a change, and an execution launched from "the
active version" of a launch plan does not become a conflict when another version is activated
later (the digest names the version only when the manifest pins it).

Provenance: the run's labels ``reconciler.flyte.org/spec`` (the digest above: what decides),
``/owner`` and ``/commit`` (who launched it, from which commit: never compared) are left out
of the views; a conflict's diff is the view of both runs on the fields the digest covers
(``conflict_diff``), and the two digests themselves when no such field differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flyteidl.admin import cluster_assignment_pb2, execution_pb2, matchable_resource_pb2
from flyteidl.core import execution_pb2 as core_execution
from flyteidl.core import identifier_pb2, literals_pb2, types_pb2

from reconciler.admin.literals import to_literal_map
from reconciler.diagnostics import FieldPath
from reconciler.errors import LiteralError
from reconciler.kinds.base import Desired, Kind, Pair, Planning
from reconciler.kinds.run_options import envs_view, run_options_view, set_run_options
from reconciler.kinds.versions import registered_task, version_to_run
from reconciler.manifests.execution import ExecutionManifest, attempt_name
from reconciler.manifests.files import LocalFile
from reconciler.manifests.load import Manifest
from reconciler.manifests.resolve import Resolved
from reconciler.packages import EntityKind
from reconciler.plan import files as local_files
from reconciler.plan.calls import operation
from reconciler.plan.common import (
    COMMIT_KEY,
    OWNER_KEY,
    PROVENANCE_KEYS,
    SPEC_KEY,
    Context,
    Problems,
    decoded,
    digest,
    notification,
    secret_inputs,
)
from reconciler.plan.diff import diff
from reconciler.plan.model import Action, Change, FieldDiff, Operation, SecretInput
from reconciler.plan.secrets import hide_text, secret_values
from reconciler.read import Actual, EntityKey, Needs, Observed
from reconciler.redact import Held, held_values, mask_values, redact

Phase = core_execution.WorkflowExecution.Phase
TERMINAL = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.ABORTED, Phase.TIMED_OUT})
RETRYABLE = frozenset({Phase.FAILED, Phase.TIMED_OUT})
ATTEMPT_MODES = frozenset(
    {execution_pb2.ExecutionMetadata.RECOVERED, execution_pb2.ExecutionMetadata.RELAUNCH}
)


_PHASE_NAMES = {number: name for name, number in Phase.items()}


def _phase_name(phase: int) -> str:
    """``Phase.Name(phase)``, which is slow enough to show when planning many executions."""
    found = _PHASE_NAMES.get(phase)
    return found if found is not None else str(Phase.Name(phase))


def spec_digest(
    manifest: Manifest[ExecutionManifest], files: Mapping[str, LocalFile] | None = None
) -> str:
    """Digest of the Execution manifest's spec as written (references unresolved), without the
    fields that steer the reconciler rather than the run (``state``, ``onFailure``); a local
    file input counts with its content's digest (``files``, by input name)."""
    spec = manifest.model.spec.model_dump(
        mode="json", by_alias=True, exclude={"state", "on_failure"}
    )
    if files:
        spec = local_files.digest_view(spec, files)
    return digest(
        {
            "project": manifest.project,
            "domain": manifest.domain,
            "name": manifest.name,
            "spec": spec,
        }
    )


def attempt_names(manifest: Manifest[ExecutionManifest]) -> list[str]:
    policy = manifest.model.spec.on_failure
    if policy.action == "none":
        return []
    return [attempt_name(manifest.name, i) for i in range(1, policy.max_attempts + 1)]


@dataclass(frozen=True)
class DesiredExecution:
    key: EntityKey
    request: execution_pb2.ExecutionCreateRequest
    digest: str
    view: dict[str, Any]
    state: str
    on_failure: str
    max_attempts: int
    secrets: tuple[SecretInput, ...] = ()
    target: Target | None = None
    pinned: bool = True
    """Whether the manifest names the version it runs (the spec digest covers it only then)."""
    written: Mapping[FieldPath, str] = field(default_factory=dict)
    values: Mapping[str, str] = field(default_factory=dict)
    """Resolved secret values with the reference that gave each (never rendered)."""
    files: Mapping[str, LocalFile] = field(default_factory=dict)
    """The inputs given as local files, by input name."""
    uploads: tuple[Operation, ...] = ()
    """Their uploads, which a launch makes first."""


@dataclass(frozen=True)
class Target:
    """What an execution runs: the launch plan (or task) id, its input types, and the values
    Admin fills in for inputs the request leaves out (defaults) or may not set (fixed)."""

    id: identifier_pb2.Identifier
    interface: Mapping[str, types_pb2.LiteralType]
    fixed: Mapping[str, literals_pb2.Literal] = field(default_factory=dict)
    defaults: Mapping[str, literals_pb2.Literal] = field(default_factory=dict)


def build(item: Resolved[ExecutionManifest], planning: Planning) -> DesiredExecution | None:
    """The run the manifest asks for (references resolved), labelled with the digest of its
    spec as written in git."""
    manifest, secrets = item.manifest, item.secrets
    problems = planning.problems
    spec = manifest.model.spec
    target = _target(manifest, planning)
    if target is None:
        return None
    overridden = _fixed_overridden(manifest, target, problems)
    hidden = {str(p[2]) for p in secrets if p[:2] == ("spec", "inputs") and len(p) > 2}
    files = planning.desired.files.get(manifest.address, {})
    with_uris = local_files.with_remote_uris(
        manifest, spec.inputs, target.interface, files, planning.actual.upload_urls, problems
    )
    if with_uris is None:
        return None
    given, used = with_uris
    try:
        inputs = to_literal_map(given, target.interface, where="spec.inputs", redact=hidden)
    except LiteralError as exc:
        problems.literals(manifest, exc)
        return None
    if overridden:
        return None
    spec_hash = spec_digest(planning.desired.as_written(manifest), used)
    execution_spec = _execution_spec(manifest, target.id, spec_hash, planning.context)
    secret = secret_inputs(
        secrets, ("spec", "inputs"), "inputs", target.interface, problems, manifest
    )
    request = execution_pb2.ExecutionCreateRequest(
        project=manifest.project,
        domain=manifest.domain,
        name=manifest.name,
        spec=execution_spec,
        inputs=inputs,
    )
    for hidden_input in secret:
        del request.inputs.literals[hidden_input.name]  # apply fills it in from its environment
    values = secret_values(manifest.document.data, secrets)
    secret += hide_text(request, values)
    view = execution_view(execution_spec, inputs, target.interface)
    local_files.show(view, used)
    redact(view, secrets, ("spec",))
    ref = spec.launch_plan or spec.workflow or spec.task
    return DesiredExecution(
        (manifest.project, manifest.domain, manifest.name),
        request,
        spec_hash,
        view,
        spec.state,
        spec.on_failure.action,
        spec.on_failure.max_attempts,
        secret,
        target,
        pinned=ref is not None and ref.version is not None,
        written=dict(secrets),
        values=values,
        files=used,
        uploads=local_files.uploads(manifest.project, manifest.domain, used),
    )


def _fixed_overridden(
    manifest: Manifest[ExecutionManifest], target: Target, problems: Problems
) -> bool:
    """Whether the manifest gives an input its launch plan fixes (each one said)."""
    overridden = sorted(set(manifest.model.spec.inputs) & set(target.fixed))
    for name in overridden:
        # Admin: "fixed_inputs X cannot be overridden" (ADMIN-SEMANTICS.md, Launch plans)
        problems.add(
            manifest.diagnostic(
                ("spec", "inputs", name),
                f"input {name!r} is fixed by launch plan {target.id.name} "
                f"version {target.id.version}",
                key=True,
            )
        )
    return bool(overridden)


def _execution_spec(
    manifest: Manifest[ExecutionManifest],
    target_id: identifier_pb2.Identifier,
    spec_hash: str,
    context: Context,
) -> execution_pb2.ExecutionSpec:
    """The spec of the run, labelled with the manifest's spec digest (and, with an owner id
    and a commit, those too: the provenance ``execution_view`` leaves out)."""
    spec = manifest.model.spec
    labels = dict(spec.labels)
    labels[SPEC_KEY] = spec_hash
    if context.owner_id:
        labels[OWNER_KEY] = context.owner_id
    if context.commit:
        labels[COMMIT_KEY] = context.commit
    execution_spec = execution_pb2.ExecutionSpec(
        launch_plan=target_id,
        metadata=execution_pb2.ExecutionMetadata(mode=execution_pb2.ExecutionMetadata.MANUAL),
        tags=list(spec.tags),
    )
    set_run_options(execution_spec, spec, labels=labels, annotations=spec.annotations)
    if spec.disable_notifications:
        execution_spec.disable_all = True
    elif spec.notifications:
        notifications = [notification(n) for n in spec.notifications]
        execution_spec.notifications.CopyFrom(
            execution_pb2.NotificationList(notifications=notifications)
        )
    if spec.cluster_pool:
        execution_spec.cluster_assignment.CopyFrom(
            cluster_assignment_pb2.ClusterAssignment(cluster_pool_name=spec.cluster_pool)
        )
    if spec.execution_cluster_label:
        execution_spec.execution_cluster_label.CopyFrom(
            matchable_resource_pb2.ExecutionClusterLabel(value=spec.execution_cluster_label)
        )
    return execution_spec


def _target(manifest: Manifest[ExecutionManifest], planning: Planning) -> Target | None:
    """The launch plan (or task) to run."""
    actual, problems = planning.actual, planning.problems
    spec = manifest.model.spec
    ref = spec.launch_plan or spec.workflow or spec.task
    assert ref is not None
    field = "launchPlan" if spec.launch_plan else "workflow" if spec.workflow else "task"
    key = (ref.project or manifest.project, ref.domain or manifest.domain, ref.name)
    if spec.task is not None:
        return _task_target(manifest, key, planning)
    # A workflow runs through its default launch plan (same name and version, which flytekit
    # registers with it); its version may come from a Registration in the same plan.
    what: EntityKind = "workflow" if spec.workflow is not None else "launch_plan"
    version = version_to_run(what, key, ref.version, planning.desired, planning)
    if version is None:
        problems.add(
            manifest.diagnostic(
                ("spec", field),
                "a workflow target needs a version (or a Registration in this plan that "
                "registers it)"
                if what == "workflow"
                else f"launch plan {'/'.join(key)} has no active version; give a version or "
                "declare it active",
            )
        )
        return None
    planned = planning.launch_plans.get(key)
    target_id = identifier_pb2.Identifier(
        resource_type=identifier_pb2.LAUNCH_PLAN,
        project=key[0],
        domain=key[1],
        name=key[2],
        version=version,
    )
    if planned is not None and planned.version == version:
        parameters = planned.spec.default_inputs.parameters
        fixed = dict(planned.spec.fixed_inputs.literals)
    else:
        stored = actual.launch_plan(key, version)
        if stored is None:
            problems.add(
                manifest.diagnostic(
                    ("spec", field),
                    f"launch plan {'/'.join(key)} version {version} does not exist in Admin",
                )
            )
            return None
        # Admin's expected inputs: every input executions may or must give
        parameters = stored.closure.expected_inputs.parameters
        fixed = dict(stored.spec.fixed_inputs.literals)
    missing = sorted(n for n, p in parameters.items() if p.required and n not in spec.inputs)
    if missing:
        problems.add(
            manifest.diagnostic(
                ("spec", "inputs"),
                f"launch plan {key[2]} version {version} requires input(s) "
                f"{', '.join(missing)}, which the manifest does not give",
            )
        )
        return None
    return Target(
        target_id,
        {n: p.var.type for n, p in parameters.items()},
        fixed,
        {n: p.default for n, p in parameters.items() if p.HasField("default")},
    )


def _task_target(
    manifest: Manifest[ExecutionManifest], key: EntityKey, planning: Planning
) -> Target | None:
    """A task runs by itself: Admin takes the task id as the execution's launch plan and makes
    the single-task workflow (ADMIN-SEMANTICS.md; flytekit's execute of a task does this)."""
    problems = planning.problems
    written = manifest.model.spec.task.version if manifest.model.spec.task else None
    version = version_to_run("task", key, written, planning.desired)
    if version is None:
        problems.add(
            manifest.diagnostic(
                ("spec", "task"),
                "a task target needs a version (or a Registration in this plan that registers it)",
            )
        )
        return None
    stored = planning.actual.registered.get(("task", *key, version))
    template = stored.closure.compiled_task.template if stored is not None else None
    if template is None:
        planned = registered_task(planning.desired, key, version)
        template = planned.template if planned is not None else None
    if template is None:
        problems.add(
            manifest.diagnostic(
                ("spec", "task"), f"task {'/'.join(key)} version {version} does not exist in Admin"
            )
        )
        return None
    variables = template.interface.inputs.variables
    missing = sorted(n for n in variables if n not in manifest.model.spec.inputs)
    if missing:
        problems.add(
            manifest.diagnostic(
                ("spec", "inputs"),
                f"task {key[2]} needs input(s) {', '.join(missing)}, which the manifest does "
                "not give",
            )
        )
        return None
    target_id = identifier_pb2.Identifier(
        resource_type=identifier_pb2.TASK,
        project=key[0],
        domain=key[1],
        name=key[2],
        version=version,
    )
    return Target(target_id, {n: v.type for n, v in variables.items()})


def execution_view(
    spec: execution_pb2.ExecutionSpec,
    inputs: literals_pb2.LiteralMap | None,
    interface: Mapping[str, types_pb2.LiteralType],
) -> dict[str, Any]:
    lp = spec.launch_plan
    view: dict[str, Any] = {
        "launchPlan": {
            "project": lp.project,
            "domain": lp.domain,
            "name": lp.name,
            "version": lp.version,
        },
        "labels": {k: v for k, v in sorted(spec.labels.values.items()) if k not in PROVENANCE_KEYS},
        "annotations": dict(sorted(spec.annotations.values.items())),
    }
    if inputs is not None:
        view["inputs"] = {
            name: decoded(literal, interface.get(name))
            for name, literal in sorted(inputs.literals.items())
        }
    for key, value in (
        ("envs", envs_view(spec)),
        ("tags", list(spec.tags)),
        ("disableNotifications", spec.disable_all),
        ("clusterPool", spec.cluster_assignment.cluster_pool_name),
        ("executionClusterLabel", spec.execution_cluster_label.value),
    ):
        if value:
            view[key] = value
    view.update(run_options_view(spec))
    return view


SERVER_FILLED = frozenset({"maxParallelism", "serviceAccount", "iamRole", "executionIdentity"})
"""View fields Admin resolves into the stored spec when the request leaves them out
(ADMIN-SEMANTICS.md: principal, system metadata, security context, max parallelism)."""


def conflict_diff(
    desired: DesiredExecution,
    stored: execution_pb2.Execution,
    stored_inputs: literals_pb2.LiteralMap | None,
) -> tuple[FieldDiff, ...]:
    """The run Admin has against the one the manifest asks for, on the fields the spec digest
    covers: what the manifest writes, inputs included; without what Admin fills in by itself
    (defaults, fixed inputs, resolved settings), and never a secret's value. When no field
    shows the difference, the digests that were compared are the diff."""
    theirs = _compared(desired, stored.spec, stored_inputs)
    mine = _compared(desired, None, None)
    found = diff({"spec": theirs}, {"spec": mine})
    if found:
        return found
    return (
        FieldDiff(
            f"metadata.labels.{SPEC_KEY}",
            stored.spec.labels.values.get(SPEC_KEY),
            desired.digest,
        ),
    )


def _compared(
    desired: DesiredExecution,
    stored_spec: execution_pb2.ExecutionSpec | None,
    stored_inputs: literals_pb2.LiteralMap | None,
) -> dict[str, Any]:
    target = desired.target
    interface = target.interface if target is not None else {}
    if stored_spec is None:
        view = {k: v for k, v in desired.view.items() if k != "inputs"}
        inputs = dict(desired.view.get("inputs", {}))
    else:
        view = execution_view(stored_spec, None, interface)
        for key in SERVER_FILLED - desired.view.keys():
            view.pop(key, None)
        inputs = {}
        if stored_inputs is not None:
            inputs = _stored_inputs(desired, stored_inputs)
        redact(view, desired.written, ("spec",))
        view = mask_values(view, desired.values)
    if not desired.pinned:
        # the digest leaves the version out: a run of "the active version" stays itself
        view["launchPlan"] = {k: v for k, v in view["launchPlan"].items() if k != "version"}
    if stored_spec is None or stored_inputs is not None:
        view["inputs"] = inputs
    return dict(view)


def _stored_view(
    desired: DesiredExecution, stored_spec: execution_pb2.ExecutionSpec
) -> dict[str, Any]:
    """The run Admin has, each field the manifest gives from ``${env:...}`` shown as written:
    Admin holds the value of the run's launch, which may be a secret rotated since (and so
    unknown to ``desired.values``)."""
    view = execution_view(stored_spec, None, {})
    redact(view, desired.written, ("spec",))
    masked: dict[str, Any] = mask_values(view, desired.values)
    return masked


def _stored_inputs(
    desired: DesiredExecution, stored_inputs: literals_pb2.LiteralMap
) -> dict[str, Any]:
    """A run's inputs as Admin keeps them, less what Admin filled in (a default or fixed value
    the manifest does not write), each secret shown as written."""
    target = desired.target
    given = desired.view.get("inputs", {})
    shown = {}
    for name, literal in sorted(stored_inputs.literals.items()):
        filled = None
        if target is not None:
            filled = target.defaults.get(name, target.fixed.get(name))
        if name not in given and filled is not None and filled == literal:
            continue
        shown[name] = decoded(literal, target.interface.get(name) if target else None)
        if name in desired.files:
            shown[name] = local_files.shown_stored(shown[name], desired.files[name])
    for path, written in desired.written.items():
        if path[:2] == ("spec", "inputs") and len(path) == 3 and path[2] in shown:
            shown[str(path[2])] = written  # never compared by value: the digest has the reference
    masked: dict[str, Any] = mask_values(shown, desired.values)
    return masked


def observed(actual: Actual, keys: list[EntityKey]) -> Observed:
    """The runs a change was planned against (its own, its attempts; a backfill's runs): their
    phase and spec digest, for the staleness check of saved plans."""
    return {"executions": [list(k) for k in keys], "digest": _digest(actual, keys)}


def _digest(actual: Actual, keys: list[EntityKey]) -> str:
    state = []
    for key in keys:
        found = actual.executions.get(key)
        if found is not None:
            state.append(
                [list(key), int(found.closure.phase), found.spec.labels.values.get(SPEC_KEY, "")]
            )
    return digest(state)


def recheck(observed: Observed) -> Needs | None:
    """What to read again for a change that recorded runs (executions and backfills)."""
    if "executions" not in observed:
        return None
    return Needs(executions=frozenset(_keys(observed)))


def digests(actual: Actual, observed: Observed) -> tuple[str, ...]:
    return (_digest(actual, _keys(observed)),)


def _keys(observed: Observed) -> list[EntityKey]:
    return [(str(p), str(d), str(n)) for p, d, n in observed["executions"]]


def plan(
    desired: DesiredExecution, actual: Actual, address: str, written_names: list[str]
) -> Change:
    project, domain, _ = desired.key
    attempt_keys = [(project, domain, n) for n in written_names]
    seen = observed(actual, [desired.key, *attempt_keys])
    stored = actual.executions.get(desired.key)
    after = {"phase": "QUEUED", **desired.view}
    if stored is None:
        if desired.state == "terminated":
            return Change(
                address,
                Action.NOOP,
                None,
                None,
                reason="not launched, and the manifest asks for it terminated",
                observed=seen,
            )
        return Change(
            address,
            Action.CREATE,
            None,
            after,
            reason="not launched yet",
            operations=(*desired.uploads, operation(desired.request, desired.secrets)),
            observed=seen,
        )
    phase = stored.closure.phase
    before = {"phase": _phase_name(phase), **_stored_view(desired, stored.spec)}
    stored_digest = stored.spec.labels.values.get(SPEC_KEY)
    if stored_digest != desired.digest:
        why = (
            "it was launched from a different manifest spec"
            if stored_digest
            else "an execution of that name exists that this reconciler did not launch"
        )
        return Change(
            address,
            Action.CONFLICT,
            before,
            after,
            diff=conflict_diff(desired, stored, actual.execution_inputs.get(desired.key)),
            reason=f"{why}; a launched execution cannot change: give the manifest a new name to "
            "launch a new run",
            observed=seen,
        )
    if desired.state == "terminated":
        if phase in TERMINAL or phase == Phase.ABORTING:
            # ABORTING: terminate was accepted and the engine is stopping it; asking again would
            # change nothing, and a plan right after apply must be empty (DESIGN.md, Guarantees)
            return Change(
                address,
                Action.NOOP,
                before,
                before,
                reason=f"already {_phase_name(phase)}",
                observed=seen,
            )
        request = execution_pb2.ExecutionTerminateRequest(
            id=stored.id, cause="terminated by the reconciler: the manifest's state is terminated"
        )
        return Change(
            address,
            Action.TERMINATE,
            before,
            {**before, "phase": "ABORTED"},
            reason=f"the manifest asks for it terminated; it is {_phase_name(phase)}",
            operations=(operation(request),),
            observed=seen,
        )
    if desired.on_failure != "none":
        retry = _retry(desired, stored, actual, attempt_keys, address, before, seen)
        if retry is not None:
            return retry
    return Change(address, Action.NOOP, before, before, reason=_phase_name(phase), observed=seen)


def _retry(
    desired: DesiredExecution,
    stored: execution_pb2.Execution,
    actual: Actual,
    attempt_keys: list[EntityKey],
    address: str,
    before: dict[str, Any],
    seen: Observed,
) -> Change | None:
    """The next recover/relaunch when the latest attempt failed and attempts remain."""
    chain = [stored] + [actual.executions[k] for k in attempt_keys if k in actual.executions]
    for index, attempt in enumerate(chain[1:], start=1):
        # an attempt is a recovery or relaunch of a run before it in the chain; a run that
        # merely took the attempt's name is not one (and apply could never launch the real one)
        metadata = attempt.spec.metadata
        earlier = {run.id.name for run in chain[:index]}
        if metadata.mode not in ATTEMPT_MODES or metadata.reference_execution.name not in earlier:
            return Change(
                address,
                Action.CONFLICT,
                before,
                before,
                observed=seen,
                reason=f"{attempt.id.name} exists but is not a recovery or relaunch of "
                f"{desired.key[2]}; onFailure cannot use its name: rename or remove that run",
            )
    latest = chain[-1]
    made = len(chain) - 1
    if latest.closure.phase not in RETRYABLE:
        if made:
            return Change(
                address,
                Action.NOOP,
                before,
                before,
                observed=seen,
                reason=f"attempt {made} ({latest.id.name}) is {_phase_name(latest.closure.phase)}",
            )
        return None
    if made >= desired.max_attempts:
        return Change(
            address,
            Action.NOOP,
            before,
            before,
            observed=seen,
            reason=f"failed; onFailure gave up after {made} attempt(s)",
        )
    new_name = attempt_keys[made][2]
    if desired.on_failure == "recover":
        request: execution_pb2.ExecutionRecoverRequest | execution_pb2.ExecutionRelaunchRequest
        request = execution_pb2.ExecutionRecoverRequest(id=latest.id, name=new_name)
        action = Action.RECOVER
    else:
        request = execution_pb2.ExecutionRelaunchRequest(id=stored.id, name=new_name)
        action = Action.RELAUNCH
    return Change(
        address,
        action,
        before,
        {"attempt": made + 1, "name": new_name, "phase": "QUEUED"},
        reason=f"{latest.id.name} {_phase_name(latest.closure.phase)}; attempt {made + 1} of "
        f"{desired.max_attempts} runs as {new_name}",
        operations=(operation(request),),
        observed=seen,
    )


def _needs(item: Resolved[ExecutionManifest], desired: Desired, context: Context) -> Needs:
    manifest = item.manifest
    spec = manifest.model.spec
    registered: set[tuple[str, str, str, str, str]] = set()
    launch_plans: set[EntityKey] = set()
    if spec.task is not None:
        key = (
            spec.task.project or manifest.project,
            spec.task.domain or manifest.domain,
            spec.task.name,
        )
        version = version_to_run("task", key, spec.task.version, desired)
        if version is not None:
            registered.add(("task", *key, version))
    ref = spec.launch_plan or spec.workflow
    if ref is not None:
        launch_plans.add((ref.project or manifest.project, ref.domain or manifest.domain, ref.name))
    files = desired.files.get(manifest.address, {})
    return Needs(
        executions=frozenset(_runs(manifest)),
        registered=frozenset(registered),
        launch_plans=frozenset(launch_plans),
        uploads=frozenset(local_files.upload_needs(manifest.project, manifest.domain, files)),
    )


def _followups(item: Resolved[ExecutionManifest], desired: Desired, actual: Actual) -> Needs:
    """The inputs of a run launched from another spec: its conflict shows them. (Which local
    files the run uses is only known with the target's interface; a ``{path: ...}`` value of a
    structured input, which ``build`` leaves out of the digest, costs a needless read here.)"""
    manifest = item.manifest
    key = (manifest.project, manifest.domain, manifest.name)
    stored = actual.executions.get(key)
    written = desired.as_written(manifest)
    files = desired.files.get(manifest.address)
    if stored is None or stored.spec.labels.values.get(SPEC_KEY) == spec_digest(written, files):
        return Needs()
    return Needs(execution_inputs=frozenset({key}))


def _runs(manifest: Manifest[ExecutionManifest]) -> tuple[EntityKey, ...]:
    """The run and its recovery or relaunch attempts."""
    names = [manifest.name, *attempt_names(manifest)]
    return tuple((manifest.project, manifest.domain, n) for n in names)


def _gates(manifest: Manifest[ExecutionManifest]) -> tuple[EntityKey, ...]:
    return ((manifest.project, manifest.domain, manifest.name),)


def _pair(
    item: Resolved[ExecutionManifest], planning: Planning
) -> Pair[ExecutionManifest, execution_pb2.Execution]:
    """Keyed by project, domain and name; Admin's side is the run of that name."""
    manifest = item.manifest
    key = (manifest.project, manifest.domain, manifest.name)
    return Pair(key, item, planning.actual.executions.get(key))


def _plan(
    pair: Pair[ExecutionManifest, execution_pb2.Execution], planning: Planning
) -> Change | None:
    assert pair.desired is not None  # executions are never pruned
    built = build(pair.desired, planning)
    if built is None:
        return None
    manifest = pair.desired.manifest
    return plan(built, planning.actual, manifest.address, attempt_names(manifest))


def _held(item: Resolved[ExecutionManifest], actual: Actual) -> list[Held]:
    """The run's env vars, labels and annotations (and inputs) as Admin holds them."""
    manifest = item.manifest
    run = actual.executions.get((manifest.project, manifest.domain, manifest.name))
    if run is None:
        return []
    return held_values(execution_view(run.spec, None, {}), item.secrets, ("spec",))


KIND = Kind(
    model=ExecutionManifest,
    needs=_needs,
    followups=_followups,
    pair=_pair,
    plan=_plan,
    recheck=recheck,
    digests=digests,
    runs=_runs,
    gates=_gates,
    held=_held,
)
