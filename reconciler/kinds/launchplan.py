"""Plan one LaunchPlan manifest against the versions Admin has of that name.

A launch plan version is immutable in Admin; its state (ACTIVE/INACTIVE) is not. So:

- version missing -> ``create`` (and activate when ``active``);
- version present with the same spec -> ``noop``, or ``update``/``deactivate`` for the state;
- version present with another spec -> ``conflict`` with the diff (flytekit and flytectl
  would silently keep the old spec; ADMIN-SEMANTICS.md, Registration).

One normalized form (``_compared``) decides "same spec" and gives the diff: the spec in
manifest terms (``launch_plan_view``), plus whatever else Admin's spec holds that no manifest
field says, under Admin's own field names, so that no difference is ever decided and not
shown. Provenance: the owner annotation (``reconciler.flyte.org/owner``) says who manages a
launch plan, not what it runs, and is deliberately left out of both the comparison and the
views (a new ``ownerId`` does not make every explicit version a conflict). Secrets: compared
by value, shown as the reference git writes (``_secret_diff`` names the ones whose value
differs, never the values).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flyteidl.admin import launch_plan_pb2, schedule_pb2
from flyteidl.core import execution_pb2 as core_execution
from flyteidl.core import identifier_pb2, interface_pb2, literals_pb2, types_pb2

from reconciler.admin.literals import from_literal, to_literal_map
from reconciler.diagnostics import FieldPath, format_path
from reconciler.errors import LiteralError
from reconciler.kinds.base import Declared, Desired, Kind, Pair, Planning
from reconciler.kinds.run_options import envs_view, run_options_view, set_run_options
from reconciler.kinds.versions import version_to_run
from reconciler.manifests.address import Address
from reconciler.manifests.launchplan import LaunchPlanManifest
from reconciler.manifests.load import Manifest
from reconciler.manifests.resolve import Resolved
from reconciler.plan.calls import operation
from reconciler.plan.common import (
    OWNER_KEY,
    PROVENANCE_KEYS,
    Context,
    Problems,
    digest,
    message_digest,
    normalized,
    notification,
    pruned,
    secret_inputs,
)
from reconciler.plan.diff import diff
from reconciler.plan.model import Action, Change, FieldDiff, Operation, SecretInput
from reconciler.plan.secrets import TEXT, hide_text, read_text, reveal_text, secret_values
from reconciler.read import Actual, EntityKey, Needs, Observed
from reconciler.redact import mask_values, redact

AUTO = "auto"
_RATE_UNITS = {"MINUTE": schedule_pb2.MINUTE, "HOUR": schedule_pb2.HOUR, "DAY": schedule_pb2.DAY}
ACTIVE = launch_plan_pb2.ACTIVE
SPEC = ("spec",)  # where the spec sits in the create request


@dataclass(frozen=True)
class DesiredLaunchPlan:
    """A LaunchPlan manifest turned into what Admin would store.

    ``spec`` holds resolved ``${env:...}`` values and never leaves the process; ``planned`` is
    the same spec with those values left out or replaced by the reference as written (what a
    plan carries), and ``secrets`` says where, for apply to fill them in."""

    key: EntityKey
    version: str
    spec: launch_plan_pb2.LaunchPlanSpec
    planned: launch_plan_pb2.LaunchPlanSpec
    active: bool
    view: dict[str, Any]
    secrets: tuple[SecretInput, ...] = ()
    written: Mapping[FieldPath, str] = field(default_factory=dict)
    """Each manifest path that held a reference, with the reference as written."""
    values: Mapping[str, str] = field(default_factory=dict)
    """Each resolved secret value, with the reference that gave it (never rendered)."""
    auto: bool = False
    rotated_from: str | None = None
    """The content version whose secret values are out of date (see ``settle``)."""

    def create_operation(self) -> Operation:
        """The create request, secrets left out (apply fills them in)."""
        request = launch_plan_pb2.LaunchPlanCreateRequest(id=self.id, spec=self.planned)
        return operation(request, self.secrets)

    def at(self, version: str) -> identifier_pb2.Identifier:
        project, domain, name = self.key
        return identifier_pb2.Identifier(
            resource_type=identifier_pb2.LAUNCH_PLAN,
            project=project,
            domain=domain,
            name=name,
            version=version,
        )

    @property
    def id(self) -> identifier_pb2.Identifier:
        return self.at(self.version)

    @property
    def inputs(self) -> Mapping[str, types_pb2.LiteralType]:
        """Input name -> LiteralType, for executions of this launch plan."""
        return {n: p.var.type for n, p in self.spec.default_inputs.parameters.items()}


def workflow_key(manifest: Manifest[LaunchPlanManifest]) -> EntityKey:
    ref = manifest.model.spec.workflow
    return (ref.project or manifest.project, ref.domain or manifest.domain, ref.name)


def build(item: Resolved[LaunchPlanManifest], planning: Planning) -> DesiredLaunchPlan | None:
    """The launch plan version the manifest asks for, as Admin would store it; None (with the
    problems said) when it cannot be built."""
    manifest, secrets = item.manifest, item.secrets
    found = _workflow(manifest, planning)
    if found is None:
        return None
    workflow_id, variables = found
    spec = manifest.model.spec
    try:
        fixed = _literals(spec.fixed_inputs, variables, "spec.fixedInputs", secrets)
        defaults = _literals(spec.default_inputs, variables, "spec.defaultInputs", secrets)
    except LiteralError as exc:
        planning.problems.literals(manifest, exc)
        return None
    parameters = _parameters(variables, fixed, defaults, _python_defaults(workflow_id, planning))
    if not _schedulable(manifest, parameters, variables, planning.problems):
        return None
    annotations = dict(spec.annotations)
    if planning.context.owner_id:
        annotations[OWNER_KEY] = planning.context.owner_id
    launch_plan_spec = launch_plan_pb2.LaunchPlanSpec(
        workflow_id=workflow_id,
        entity_metadata=launch_plan_pb2.LaunchPlanMetadata(
            schedule=_schedule(manifest.model),
            notifications=[notification(n) for n in spec.notifications],
        ),
        default_inputs=interface_pb2.ParameterMap(parameters=parameters),
        fixed_inputs=literals_pb2.LiteralMap(literals=fixed),
    )
    set_run_options(
        launch_plan_spec,
        spec,
        labels=spec.labels,
        annotations=annotations,
        run_as=spec.security_context.run_as if spec.security_context else None,
    )
    types = {n: v.type for n, v in variables.items()}
    return _desired(manifest, launch_plan_spec, secrets, types, planning.problems)


def _workflow(
    manifest: Manifest[LaunchPlanManifest], planning: Planning
) -> tuple[identifier_pb2.Identifier, Mapping[str, interface_pb2.Variable]] | None:
    """The workflow the launch plan runs, at the version it runs, and its input variables."""
    project, domain, name = key = workflow_key(manifest)
    written = manifest.model.spec.workflow.version
    version = version_to_run("workflow", key, written, planning.desired)
    if version is None:
        planning.problems.add(
            manifest.diagnostic(
                ("spec", "workflow"),
                f"workflow.version is needed: no Registration in this plan registers {name} in "
                f"{project}/{domain}",
            )
        )
        return None
    workflow = planning.actual.workflows.get((*key, version))
    if workflow is None:
        planning.problems.add(
            manifest.diagnostic(
                ("spec", "workflow"),
                f"workflow {project}/{domain}/{name} version {version} does not exist in Admin",
            )
        )
        return None
    workflow_id = identifier_pb2.Identifier(
        resource_type=identifier_pb2.WORKFLOW,
        project=project,
        domain=domain,
        name=name,
        version=version,
    )
    return (
        workflow_id,
        workflow.closure.compiled_workflow.primary.template.interface.inputs.variables,
    )


def _python_defaults(
    workflow_id: identifier_pb2.Identifier, planning: Planning
) -> dict[str, interface_pb2.Parameter]:
    """The workflow's own launch plan (same name and version, registered with it by flytekit)
    carries the Python defaults of its inputs."""
    key = (workflow_id.project, workflow_id.domain, workflow_id.name)
    default_lp = planning.actual.launch_plan(key, workflow_id.version)
    if default_lp is None:
        return {}
    return {
        n: p for n, p in default_lp.spec.default_inputs.parameters.items() if p.HasField("default")
    }


def _parameters(
    variables: Mapping[str, interface_pb2.Variable],
    fixed: Mapping[str, literals_pb2.Literal],
    defaults: Mapping[str, literals_pb2.Literal],
    python_defaults: Mapping[str, interface_pb2.Parameter],
) -> dict[str, interface_pb2.Parameter]:
    """Each input not fixed: with the manifest's default, else the workflow's, else required."""
    parameters = {}
    for input_name, variable in variables.items():
        if input_name in fixed:
            continue
        if input_name in defaults:
            parameters[input_name] = interface_pb2.Parameter(
                var=variable, default=defaults[input_name]
            )
        elif input_name in python_defaults:
            parameters[input_name] = interface_pb2.Parameter(
                var=variable, default=python_defaults[input_name].default
            )
        else:
            parameters[input_name] = interface_pb2.Parameter(var=variable, required=True)
    return parameters


def _schedulable(
    manifest: Manifest[LaunchPlanManifest],
    parameters: Mapping[str, interface_pb2.Parameter],
    variables: Mapping[str, interface_pb2.Variable],
    problems: Problems,
) -> bool:
    """Whether Admin can run the launch plan on its schedule, if it has one."""
    schedule = manifest.model.spec.schedule
    if schedule is None:
        return True
    name = manifest.model.spec.workflow.name
    kickoff = schedule.kickoff_time_input_arg
    unbound = sorted(n for n, p in parameters.items() if p.required and n != kickoff)
    if unbound:
        # Admin refuses it at registration (validation/launch_plan_validator.go)
        problems.add(
            manifest.diagnostic(
                ("spec", "schedule"),
                f"input(s) {', '.join(unbound)} of workflow {name} have no default; a "
                "scheduled launch plan needs a value for every input but the kickoff input",
            )
        )
        return False
    if kickoff and kickoff not in variables:
        problems.add(
            manifest.diagnostic(
                ("spec", "schedule", "kickoffTimeInputArg"),
                f"workflow {name} has no input {kickoff!r}",
            )
        )
        return False
    return True


def _desired(
    manifest: Manifest[LaunchPlanManifest],
    launch_plan_spec: launch_plan_pb2.LaunchPlanSpec,
    secrets: Mapping[FieldPath, str],
    types: Mapping[str, types_pb2.LiteralType],
    problems: Problems,
) -> DesiredLaunchPlan:
    """The built spec with its secrets accounted for: left out of what the plan carries, and
    out of the content version."""
    spec = manifest.model.spec
    hidden = secret_inputs(
        secrets, ("spec", "defaultInputs"), "defaultInputs", types, problems, manifest
    )
    hidden += secret_inputs(
        secrets, ("spec", "fixedInputs"), "fixedInputs", types, problems, manifest
    )
    values = secret_values(manifest.document.data, secrets)
    planned = launch_plan_pb2.LaunchPlanSpec()
    planned.CopyFrom(launch_plan_spec)
    hidden += _hide(planned, hidden, values)
    view = launch_plan_view(launch_plan_spec, active=spec.active)
    redact(view, secrets, ("spec",))
    return DesiredLaunchPlan(
        (manifest.project, manifest.domain, manifest.name),
        spec.version if spec.version != AUTO else _content_version(planned, hidden),
        launch_plan_spec,
        planned,
        spec.active,
        view,
        hidden,
        dict(secrets),
        values,
        auto=spec.version == AUTO,
    )


def _hide(
    spec: launch_plan_pb2.LaunchPlanSpec,
    inputs: tuple[SecretInput, ...],
    values: Mapping[str, str],
) -> tuple[SecretInput, ...]:
    """Leave secret inputs out of ``spec`` and put references in place of other secret text
    (in place); returns where the text was."""
    for item in inputs:
        if item.field == "fixedInputs":
            spec.fixed_inputs.literals.pop(item.name, None)
        elif item.name in spec.default_inputs.parameters:
            spec.default_inputs.parameters[item.name].ClearField("default")
    return hide_text(spec, values, under=SPEC)


def _content_version(
    planned: launch_plan_pb2.LaunchPlanSpec, secrets: tuple[SecretInput, ...]
) -> str:
    """``version: auto``: a digest of the spec with each secret as written, never its value, so
    that no version string is derived from a secret (rotating one is handled in ``plan``)."""
    if not secrets:
        return message_digest(planned)
    return digest([normalized(planned), sorted((s.field, s.name, s.template) for s in secrets)])


def _literals(
    values: Mapping[str, object],
    variables: Mapping[str, interface_pb2.Variable],
    where: str,
    secrets: Mapping[FieldPath, str],
) -> dict[str, literals_pb2.Literal]:
    interface = {name: variable.type for name, variable in variables.items()}
    prefix = tuple(where.split("."))
    hidden = {str(path[len(prefix)]) for path in secrets if path[: len(prefix)] == prefix}
    literal_map = to_literal_map(values, interface, where=where, redact=hidden)
    return dict(literal_map.literals)


def _schedule(model: LaunchPlanManifest) -> schedule_pb2.Schedule | None:
    schedule = model.spec.schedule
    if schedule is None:
        return None
    out = schedule_pb2.Schedule(kickoff_time_input_arg=schedule.kickoff_time_input_arg or "")
    if schedule.cron is not None:
        # Always cron_schedule, never the deprecated cron_expression (ADMIN-SEMANTICS.md).
        out.cron_schedule.CopyFrom(schedule_pb2.CronSchedule(schedule=schedule.cron))
    elif schedule.rate is not None:
        out.rate.CopyFrom(
            schedule_pb2.FixedRate(value=schedule.rate.value, unit=_RATE_UNITS[schedule.rate.unit])
        )
    return out


def launch_plan_view(spec: launch_plan_pb2.LaunchPlanSpec, *, active: bool) -> dict[str, Any]:
    """The spec in manifest terms, for plan output and diffs (the same shape for both sides)."""
    parameters = spec.default_inputs.parameters
    workflow = spec.workflow_id
    schedule = spec.entity_metadata.schedule
    view: dict[str, Any] = {
        "workflow": {
            "project": workflow.project,
            "domain": workflow.domain,
            "name": workflow.name,
            "version": workflow.version,
        },
        "active": active,
        "defaultInputs": {
            n: _value(p.default, p.var.type)
            for n, p in sorted(parameters.items())
            if p.HasField("default")
        },
        "requiredInputs": sorted(n for n, p in parameters.items() if p.required),
        "fixedInputs": {n: _value(v, None) for n, v in sorted(spec.fixed_inputs.literals.items())},
        "labels": dict(sorted(spec.labels.values.items())),
        "annotations": {
            k: v for k, v in sorted(spec.annotations.values.items()) if k not in PROVENANCE_KEYS
        },
        "envs": envs_view(spec),
    }
    if spec.entity_metadata.HasField("schedule"):
        if schedule.HasField("cron_schedule"):
            view["schedule"] = {"cron": schedule.cron_schedule.schedule}
        elif schedule.cron_expression:
            view["schedule"] = {"cron": schedule.cron_expression}
        else:
            unit = schedule_pb2.FixedRateUnit.Name(schedule.rate.unit)
            view["schedule"] = {"rate": {"value": schedule.rate.value, "unit": unit}}
        if schedule.kickoff_time_input_arg:
            view["schedule"]["kickoffTimeInputArg"] = schedule.kickoff_time_input_arg
    notifications = []
    for entry in spec.entity_metadata.notifications:
        channel = entry.WhichOneof("type") or ""
        recipients = list(getattr(entry, channel).recipients_email) if channel else []
        notifications.append(
            {
                "phases": [core_execution.WorkflowExecution.Phase.Name(p) for p in entry.phases],
                {"pager_duty": "pagerDuty"}.get(channel, channel): recipients,
            }
        )
    if notifications:
        view["notifications"] = notifications
    view.update(run_options_view(spec))
    return view


def observed(actual: Actual, key: EntityKey, *, legacy: bool = False) -> Observed:
    """What a change was planned against: every version of the name, its state and spec.

    The spec counts by a hash of its encoding, not of its normalized form: this digest is only
    ever compared with one made the same way from a later read of the same Admin, which sends
    the same bytes for a version nothing changed (and normalizing every stored version was the
    largest cost of planning many launch plans). ``legacy``: the normalized form, as plans
    saved by earlier builds have it (``apply --plan`` accepts either)."""
    return {"launch_plans": [list(key)], "digest": observed_digest(actual, key, legacy=legacy)}


def observed_digest(actual: Actual, key: EntityKey, *, legacy: bool = False) -> str:
    spec_digest = message_digest if legacy else _encoding_digest
    versions = sorted(
        (lp.id.version, int(lp.closure.state), spec_digest(lp.spec))
        for lp in actual.launch_plans.get(key, [])
    )
    return digest(versions)


def _encoding_digest(spec: launch_plan_pb2.LaunchPlanSpec) -> str:
    return hashlib.sha256(spec.SerializeToString(deterministic=True)).hexdigest()[:16]


def settle(desired: DesiredLaunchPlan, actual: Actual) -> DesiredLaunchPlan:
    """For ``version: auto``, the version that holds the current secret values.

    The content version hashes secrets as written, never their values, so rotating a secret
    keeps it; but a launch plan version cannot change. When only secret values differ from
    the stored version, the new values go into the next free ``<version>-N`` (or the one that
    already holds them). README, "Secrets" under "Plan, apply, drift"."""
    stored = actual.launch_plan(desired.key, desired.version)
    if (
        stored is None
        or not desired.auto
        or _same(stored.spec, desired)
        or not _same(_masked(stored.spec, desired), desired, planned=True)
    ):
        return desired
    return dataclasses.replace(
        desired, version=_rotated(actual, desired), rotated_from=desired.version
    )


def plan(desired: DesiredLaunchPlan, actual: Actual, address: str) -> Change:
    """The change for a built launch plan (settled) against every version Admin has of it."""
    seen = observed(actual, desired.key)
    version = desired.version
    stored = actual.launch_plan(desired.key, version)
    reason = f"version {version} is not registered"
    if desired.rotated_from:
        previous = actual.launch_plan(desired.key, desired.rotated_from)
        changed = [d.path for d in _secret_diff(previous.spec, desired)] if previous else []
        reason = (
            f"the value of {', '.join(changed) or 'a secret'} differs from the one version "
            f"{desired.rotated_from} holds, and launch plan versions are immutable: version "
            f"{version} holds the new value"
        )
    if stored is None:
        return _create(desired, actual, address, version, reason, seen)
    is_active = stored.closure.state == ACTIVE
    identical = _encoded(stored.spec) == _encoded(desired.spec)
    if identical and not desired.written and not desired.values:
        # The stored spec is the desired one and no secret needs showing as written: its
        # view is the desired view (the view leaves the provenance annotations out).
        stored_view = {**desired.view, "active": is_active}
    else:
        stored_view = _shown(stored.spec, desired, active=is_active)
    before = _with_version(stored_view, version)
    after = _with_version(desired.view, version)
    if not identical and not _same(stored.spec, desired):
        return Change(
            address,
            Action.CONFLICT,
            before,
            after,
            diff=_conflict_diff(stored.spec, stored_view, desired),
            reason=(
                f"version {version} exists in Admin with a different spec and launch plan "
                "versions cannot change: bump spec.version or use version: auto"
            ),
            observed=seen,
        )
    if desired.active == is_active:
        return Change(address, Action.NOOP, before, after, observed=seen)
    state = ACTIVE if desired.active else launch_plan_pb2.INACTIVE
    request = launch_plan_pb2.LaunchPlanUpdateRequest(id=desired.at(version), state=state)
    return Change(
        address,
        Action.UPDATE if desired.active else Action.DEACTIVATE,
        before,
        after,
        diff=diff({"spec": {"active": is_active}}, {"spec": {"active": desired.active}}),
        reason=(
            f"activate version {version}" + _replacing(actual.active_launch_plan(desired.key))
            if desired.active
            else f"deactivate version {version}"
        ),
        operations=(operation(request),),
        observed=seen,
    )


def _create(
    desired: DesiredLaunchPlan,
    actual: Actual,
    address: str,
    version: str,
    reason: str,
    seen: Observed,
) -> Change:
    operations = [desired.create_operation()]
    if desired.active:
        activate = launch_plan_pb2.LaunchPlanUpdateRequest(id=desired.at(version), state=ACTIVE)
        operations.append(operation(activate))
        reason += "; it will be activated" + _replacing(actual.active_launch_plan(desired.key))
    return Change(
        address,
        Action.CREATE,
        None,
        _with_version(desired.view, version),
        reason=reason,
        operations=tuple(operations),
        observed=seen,
    )


def _value(literal: literals_pb2.Literal, literal_type: types_pb2.LiteralType | None) -> object:
    """A literal as the manifest writes it; one this tool cannot read as a value is shown (and
    compared) as Admin's literal, so that two such literals never look alike."""
    try:
        return from_literal(literal, literal_type)
    except LiteralError:
        return {"literal": normalized(literal)}


# Admin's fields that ``launch_plan_view`` shows in manifest terms (dotted, in ``normalized``
# form; ``*`` is every input), and the provenance annotations neither side shows.
_IN_VIEW = (
    "workflow_id",
    "entity_metadata.schedule.cron_schedule.schedule",
    "entity_metadata.schedule.cron_expression",
    "entity_metadata.schedule.rate",
    "entity_metadata.schedule.kickoff_time_input_arg",
    "entity_metadata.notifications",
    "default_inputs.parameters.*.default",
    "default_inputs.parameters.*.required",
    "fixed_inputs",
    "labels",
    "annotations",
    "envs",
    "max_parallelism",
    "raw_output_data_config.output_location_prefix",
    "security_context.run_as.k8s_service_account",
    "security_context.run_as.iam_role",
    "security_context.run_as.execution_identity",
    "overwrite_cache",
    "interruptible",
)


def _rest(spec: launch_plan_pb2.LaunchPlanSpec) -> dict[str, Any]:
    """What Admin's spec holds besides what the view shows (a variable's type, a schedule's
    offset, fields only other tools set), under Admin's field names."""
    data = normalized(spec)
    for path in _IN_VIEW:
        _drop(data, path.split("."))
    return pruned(data)


def _drop(data: Any, path: list[str]) -> None:
    if not isinstance(data, dict) or not path:
        return
    head, rest = path[0], path[1:]
    targets = list(data) if head == "*" else [head]
    for key in targets:
        if not rest:
            data.pop(key, None)
        else:
            _drop(data.get(key), rest)


def _compared(spec: launch_plan_pb2.LaunchPlanSpec) -> dict[str, Any]:
    """The one form "same spec" is decided on (the state aside: it is not part of a version),
    and the diff is shown from: the view, then the rest under Admin's names (snake_case, so
    never a view's key)."""
    view = launch_plan_view(spec, active=False)
    del view["active"]
    return {**view, **_rest(spec)}


def _same(
    stored: launch_plan_pb2.LaunchPlanSpec, desired: DesiredLaunchPlan, *, planned: bool = False
) -> bool:
    mine = desired.planned if planned else desired.spec
    # Equal encodings (provenance aside) are the same spec, which is what a steady state finds;
    # only when they differ does it take normalizing, which also equates an empty field with
    # an absent one (encodings do not) and costs far more.
    if _encoded(stored) == _encoded(mine):
        return True
    return not diff({"spec": _compared(stored)}, {"spec": _compared(mine)})


def _encoded(spec: launch_plan_pb2.LaunchPlanSpec) -> bytes:
    """The spec's deterministic encoding without the provenance annotations."""
    if any(key in spec.annotations.values for key in PROVENANCE_KEYS):
        spec, original = launch_plan_pb2.LaunchPlanSpec(), spec
        spec.CopyFrom(original)
        for key in PROVENANCE_KEYS:
            if key in spec.annotations.values:
                del spec.annotations.values[key]
    encoded: bytes = spec.SerializeToString(deterministic=True)
    return encoded


def _masked(
    stored: launch_plan_pb2.LaunchPlanSpec, desired: DesiredLaunchPlan
) -> launch_plan_pb2.LaunchPlanSpec:
    """``stored`` with the desired spec's secrets left out the same way, to compare the rest."""
    masked = launch_plan_pb2.LaunchPlanSpec()
    masked.CopyFrom(stored)
    inputs = tuple(s for s in desired.secrets if s.field != TEXT)
    _hide(masked, inputs, {})
    for secret in desired.secrets:
        if secret.field == TEXT:
            with contextlib.suppress(KeyError, IndexError, AttributeError, TypeError):
                reveal_text(masked, secret, secret.template, under=SPEC)
    return masked


def _secret_diff(
    stored: launch_plan_pb2.LaunchPlanSpec, desired: DesiredLaunchPlan
) -> list[FieldDiff]:
    """One entry per secret whose value in Admin is not the resolved one, values never shown."""
    found = []
    for secret in desired.secrets:
        if secret.field == TEXT:
            same = read_text(desired.spec, secret, SPEC) == read_text(stored, secret, SPEC)
            paths = [p for p, t in desired.written.items() if t == secret.template]
            path = format_path(paths[0]) if paths else secret.template
        else:
            same = _input_at(desired.spec, secret) == _input_at(stored, secret)
            path = f"spec.{secret.field}.{secret.name}"
        if not same:
            found.append(FieldDiff(path, "(another value in Admin)", secret.template))
    return sorted(set(found), key=lambda d: d.path)


def _input_at(spec: launch_plan_pb2.LaunchPlanSpec, secret: SecretInput) -> bytes | None:
    if secret.field == "fixedInputs":
        literal = spec.fixed_inputs.literals.get(secret.name)
    else:
        parameter = spec.default_inputs.parameters.get(secret.name)
        literal = parameter.default if parameter is not None else None
    return literal.SerializeToString(deterministic=True) if literal is not None else None


def _rotated(actual: Actual, desired: DesiredLaunchPlan) -> str:
    """The ``<version>-N`` that holds the current secret values, or the next free one."""
    prefix = desired.version + "-"
    taken = []
    for stored in actual.launch_plans.get(desired.key, []):
        suffix = stored.id.version.removeprefix(prefix)
        if stored.id.version.startswith(prefix) and suffix.isdigit():
            if _same(stored.spec, desired):
                return str(stored.id.version)
            taken.append(int(suffix))
    return f"{prefix}{max(taken, default=1) + 1}"


def _shown(
    spec: launch_plan_pb2.LaunchPlanSpec, desired: DesiredLaunchPlan, *, active: bool
) -> dict[str, Any]:
    """A stored spec in manifest terms, with every secret shown as git writes it: at the paths
    that hold references now, and wherever a value of one appears (defence in depth)."""
    view = launch_plan_view(spec, active=active)
    redact(view, desired.written, ("spec",))
    masked: dict[str, Any] = mask_values(view, desired.values)
    return masked


def _conflict_diff(
    stored: launch_plan_pb2.LaunchPlanSpec, stored_view: dict[str, Any], desired: DesiredLaunchPlan
) -> tuple[FieldDiff, ...]:
    """What differs in the compared form (``_compared``), each secret shown as written: the
    views (a change of state shows too), the rest of both specs (no secret is ever there:
    references are only allowed in fields the view shows), and the secrets whose values
    differ."""
    theirs = {**stored_view, **mask_values(_rest(stored), desired.values)}
    mine = {**desired.view, **_rest(desired.planned)}
    found = list(diff({"spec": theirs}, {"spec": mine}))
    found += _secret_diff(stored, desired)
    return tuple(sorted(found, key=lambda d: d.path))


def _replacing(active_now: launch_plan_pb2.LaunchPlan | None) -> str:
    if active_now is None:
        return ""
    return f" (replacing active version {active_now.id.version})"


def _with_version(view: dict[str, Any], version: str) -> dict[str, Any]:
    return {"version": version, **view}


def prune_change(stored: launch_plan_pb2.LaunchPlan, address: str, actual: Actual) -> Change:
    """Deactivate an owned, active launch plan whose manifest is gone."""
    key = (stored.id.project, stored.id.domain, stored.id.name)
    request = launch_plan_pb2.LaunchPlanUpdateRequest(id=stored.id, state=launch_plan_pb2.INACTIVE)
    view = _with_version(launch_plan_view(stored.spec, active=True), stored.id.version)
    return Change(
        address,
        Action.DEACTIVATE,
        view,
        {**view, "active": False},
        diff=diff({"spec": {"active": True}}, {"spec": {"active": False}}),
        reason="its manifest is gone and it carries this repository's owner id (--prune)",
        operations=(operation(request),),
        observed=observed(actual, key),
    )


def _needs(item: Resolved[LaunchPlanManifest], desired: Desired, context: Context) -> Needs:
    manifest = item.manifest
    workflow = workflow_key(manifest)
    version = version_to_run("workflow", workflow, manifest.model.spec.workflow.version, desired)
    return Needs(
        # the workflow's default launch plan too: it carries the inputs' Python defaults
        launch_plans=frozenset({(manifest.project, manifest.domain, manifest.name), workflow}),
        workflows=frozenset({(*workflow, version)} if version is not None else ()),
        prune_scopes=frozenset({(manifest.project, manifest.domain)} if context.prune else ()),
    )


def _pair(
    item: Resolved[LaunchPlanManifest], planning: Planning
) -> Pair[LaunchPlanManifest, list[launch_plan_pb2.LaunchPlan]]:
    """Keyed by project, domain and name; Admin's side is every version of that name."""
    manifest = item.manifest
    key = (manifest.project, manifest.domain, manifest.name)
    return Pair(key, item, planning.actual.launch_plans.get(key))


def _plan(
    pair: Pair[LaunchPlanManifest, list[launch_plan_pb2.LaunchPlan]], planning: Planning
) -> Change | None:
    if pair.desired is None:
        assert pair.actual  # an orphan is the active version no manifest declares
        [stored] = pair.actual
        address = Address(KIND.name, stored.id.project, stored.id.domain, stored.id.name)
        return prune_change(stored, str(address), planning.actual)
    built = build(pair.desired, planning)
    if built is None:
        return None
    built = settle(built, planning.actual)
    planning.launch_plans[built.key] = Declared(built.id, built.spec, built.active)
    return plan(built, planning.actual, pair.desired.manifest.address)


def _orphans(
    planning: Planning,
) -> list[Pair[LaunchPlanManifest, list[launch_plan_pb2.LaunchPlan]]]:
    """With ``--prune``: owned, active launch plans in scope that no manifest declares.

    Only launch plans that carry this repository's owner id are touched (DESIGN.md,
    Guarantees); a launch plan whose manifest failed to plan is declared all the same, so it
    is left alone."""
    context = planning.context
    if not context.prune:
        return []
    declared = set(planning.launch_plans) | {
        (r.manifest.project, r.manifest.domain, r.manifest.name)
        for r in planning.desired.resolved
        if isinstance(r.manifest.model, LaunchPlanManifest)
    }
    found: list[Pair[LaunchPlanManifest, list[launch_plan_pb2.LaunchPlan]]] = []
    for (project, domain), active in sorted(planning.actual.active_in_scope.items()):
        for stored in active:
            key = (project, domain, stored.id.name)
            owner = stored.spec.annotations.values.get(OWNER_KEY)
            if key in declared or owner is None or owner != context.owner_id:
                continue
            found.append(Pair(key, None, [stored]))
    return found


def _recheck(observed: Observed) -> Needs | None:
    if "launch_plans" not in observed:
        return None
    keys = observed["launch_plans"]
    return Needs(launch_plans=frozenset((str(p), str(d), str(n)) for p, d, n in keys))


def _digests(actual: Actual, observed: Observed) -> tuple[str, ...]:
    [key] = [(str(p), str(d), str(n)) for p, d, n in observed["launch_plans"]]
    return (
        observed_digest(actual, key),
        observed_digest(actual, key, legacy=True),  # plans saved by earlier builds
    )


KIND = Kind(
    model=LaunchPlanManifest,
    needs=_needs,
    pair=_pair,
    plan=_plan,
    recheck=_recheck,
    digests=_digests,
    orphans=_orphans,
)
