"""Plan one LaunchPlan manifest against the versions Admin has of that name.

A launch plan version is immutable in Admin; its state (ACTIVE/INACTIVE) is not. So:

- version missing -> ``create`` (and activate when ``active``);
- version present with the same spec -> ``noop``, or ``update``/``deactivate`` for the state;
- version present with another spec -> ``conflict`` with the diff (flytekit and flytectl
  would silently keep the old spec; ADMIN-SEMANTICS.md, Registration).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flyteidl.admin import common_pb2, launch_plan_pb2, schedule_pb2
from flyteidl.core import execution_pb2 as core_execution
from flyteidl.core import identifier_pb2, interface_pb2, literals_pb2, security_pb2
from google.protobuf import wrappers_pb2

from reconciler.admin.literals import to_literal_map
from reconciler.diagnostics import FieldPath
from reconciler.errors import LiteralError
from reconciler.manifests.launchplan import LaunchPlanManifest
from reconciler.manifests.load import Manifest
from reconciler.plan.actual import Actual, EntityKey
from reconciler.plan.common import (
    OWNER_KEY,
    PROVENANCE_KEYS,
    Context,
    Problems,
    decoded,
    digest,
    message_digest,
    normalized,
    notification,
    redact,
    secret_inputs,
)
from reconciler.plan.diff import diff
from reconciler.plan.model import Action, Change, Operation, SecretInput

AUTO = "auto"
_RATE_UNITS = {"MINUTE": schedule_pb2.MINUTE, "HOUR": schedule_pb2.HOUR, "DAY": schedule_pb2.DAY}
_PHASES = {
    name: core_execution.WorkflowExecution.Phase.Value(name)
    for name in ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
}


@dataclass(frozen=True)
class DesiredLaunchPlan:
    """A LaunchPlan manifest turned into what Admin would store."""

    key: EntityKey
    version: str
    spec: launch_plan_pb2.LaunchPlanSpec
    active: bool
    view: dict[str, Any]
    secrets: tuple[SecretInput, ...] = ()

    def create_operation(self) -> Operation:
        """The create request with secret input values left out (apply fills them in)."""
        spec = launch_plan_pb2.LaunchPlanSpec()
        spec.CopyFrom(self.spec)
        for item in self.secrets:
            if item.field == "fixedInputs":
                del spec.fixed_inputs.literals[item.name]
            else:
                spec.default_inputs.parameters[item.name].ClearField("default")
        request = launch_plan_pb2.LaunchPlanCreateRequest(id=self.id, spec=spec)
        return Operation(
            "CreateLaunchPlan", request.SerializeToString(deterministic=True), self.secrets
        )

    @property
    def id(self) -> identifier_pb2.Identifier:
        project, domain, name = self.key
        return identifier_pb2.Identifier(
            resource_type=identifier_pb2.LAUNCH_PLAN,
            project=project,
            domain=domain,
            name=name,
            version=self.version,
        )

    @property
    def inputs(self) -> Mapping[str, Any]:
        """Input name -> LiteralType, for executions of this launch plan."""
        return {n: p.var.type for n, p in self.spec.default_inputs.parameters.items()}


def workflow_ref(manifest: Manifest) -> tuple[str, str, str, str | None]:
    model = manifest.model
    assert isinstance(model, LaunchPlanManifest)
    ref = model.spec.workflow
    return (ref.project or manifest.project, ref.domain or manifest.domain, ref.name, ref.version)


def build(
    manifest: Manifest,
    secrets: Mapping[FieldPath, str],
    actual: Actual,
    context: Context,
    problems: Problems,
    *,
    registered_version: str | None = None,
) -> DesiredLaunchPlan | None:
    """``registered_version``: the version a Registration in the same plan gives the workflow,
    used when the manifest names none."""
    model = manifest.model
    assert isinstance(model, LaunchPlanManifest)
    spec = model.spec
    project, domain, name, version = workflow_ref(manifest)
    version = version or registered_version
    if version is None:
        problems.add(
            manifest.diagnostic(
                ("spec", "workflow"),
                f"workflow.version is needed: no Registration in this plan registers {name} in "
                f"{project}/{domain}",
            )
        )
        return None
    workflow = actual.workflows.get((project, domain, name, version))
    if workflow is None:
        problems.add(
            manifest.diagnostic(
                ("spec", "workflow"),
                f"workflow {project}/{domain}/{name} version {version} does not exist in Admin",
            )
        )
        return None
    variables = workflow.closure.compiled_workflow.primary.template.interface.inputs.variables
    # The workflow's own launch plan (same name and version, registered with it by flytekit)
    # carries the Python defaults of its inputs.
    default_lp = actual.launch_plan((project, domain, name), version)
    python_defaults = (
        {
            n: p
            for n, p in default_lp.spec.default_inputs.parameters.items()
            if p.HasField("default")
        }
        if default_lp is not None
        else {}
    )
    try:
        fixed = _literals(spec.fixed_inputs, variables, "spec.fixedInputs", secrets)
        defaults = _literals(spec.default_inputs, variables, "spec.defaultInputs", secrets)
    except LiteralError as exc:
        for problem in exc.problems:
            path = tuple(problem.split(":", 1)[0].split("."))
            problems.add(manifest.diagnostic(path, problem.split(": ", 1)[-1]))
        return None
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
    if spec.schedule is not None:
        kickoff = spec.schedule.kickoff_time_input_arg
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
            return None
        if kickoff and kickoff not in variables:
            problems.add(
                manifest.diagnostic(
                    ("spec", "schedule", "kickoffTimeInputArg"),
                    f"workflow {name} has no input {kickoff!r}",
                )
            )
            return None
    annotations = dict(spec.annotations)
    if context.owner_id:
        annotations[OWNER_KEY] = context.owner_id
    launch_plan_spec = launch_plan_pb2.LaunchPlanSpec(
        workflow_id=identifier_pb2.Identifier(
            resource_type=identifier_pb2.WORKFLOW,
            project=project,
            domain=domain,
            name=name,
            version=version,
        ),
        entity_metadata=launch_plan_pb2.LaunchPlanMetadata(
            schedule=_schedule(model),
            notifications=[notification(n) for n in spec.notifications],
        ),
        default_inputs=interface_pb2.ParameterMap(parameters=parameters),
        fixed_inputs=literals_pb2.LiteralMap(literals=fixed),
        labels=common_pb2.Labels(values=dict(spec.labels)),
        annotations=common_pb2.Annotations(values=annotations),
        envs=common_pb2.Envs(
            values=[literals_pb2.KeyValuePair(key=k, value=v) for k, v in sorted(spec.envs.items())]
        ),
        max_parallelism=spec.max_parallelism or 0,
        raw_output_data_config=common_pb2.RawOutputDataConfig(
            output_location_prefix=spec.raw_output_data_prefix or ""
        ),
        security_context=_security_context(model),
        overwrite_cache=bool(spec.overwrite_cache),
    )
    if spec.interruptible is not None:
        launch_plan_spec.interruptible.CopyFrom(wrappers_pb2.BoolValue(value=spec.interruptible))
    version_id = spec.version if spec.version != AUTO else message_digest(launch_plan_spec)
    view = launch_plan_view(launch_plan_spec, active=spec.active)
    redact(view, secrets, ("spec",))
    types = {n: v.type for n, v in variables.items()}
    hidden = secret_inputs(
        secrets, ("spec", "defaultInputs"), "defaultInputs", types, problems, manifest
    )
    hidden += secret_inputs(
        secrets, ("spec", "fixedInputs"), "fixedInputs", types, problems, manifest
    )
    return DesiredLaunchPlan(
        (manifest.project, manifest.domain, manifest.name),
        version_id,
        launch_plan_spec,
        spec.active,
        view,
        hidden,
    )


def _literals(
    values: Mapping[str, Any], variables: Any, where: str, secrets: Mapping[FieldPath, str]
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


def _security_context(model: LaunchPlanManifest) -> security_pb2.SecurityContext:
    spec = model.spec
    run_as = spec.security_context.run_as if spec.security_context else None
    return security_pb2.SecurityContext(
        run_as=security_pb2.Identity(
            k8s_service_account=spec.service_account
            or (run_as.k8s_service_account if run_as else None)
            or "",
            iam_role=(run_as.iam_role if run_as else None) or "",
            execution_identity=(run_as.execution_identity if run_as else None) or "",
        )
    )


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
            n: decoded(p.default, p.var.type)
            for n, p in sorted(parameters.items())
            if p.HasField("default")
        },
        "requiredInputs": sorted(n for n, p in parameters.items() if p.required),
        "fixedInputs": {n: decoded(v, None) for n, v in sorted(spec.fixed_inputs.literals.items())},
        "labels": dict(sorted(spec.labels.values.items())),
        "annotations": {
            k: v for k, v in sorted(spec.annotations.values.items()) if k not in PROVENANCE_KEYS
        },
        "envs": {kv.key: kv.value for kv in spec.envs.values},
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
    for key, value in (
        ("maxParallelism", spec.max_parallelism),
        ("rawOutputDataPrefix", spec.raw_output_data_config.output_location_prefix),
        ("serviceAccount", spec.security_context.run_as.k8s_service_account),
        ("iamRole", spec.security_context.run_as.iam_role),
        ("overwriteCache", spec.overwrite_cache),
    ):
        if value:
            view[key] = value
    if spec.HasField("interruptible"):
        view["interruptible"] = spec.interruptible.value
    return view


def observed(actual: Actual, key: EntityKey) -> dict[str, Any]:
    """What a change was planned against: every version of the name, its state and spec."""
    versions = sorted(
        (lp.id.version, int(lp.closure.state), message_digest(lp.spec))
        for lp in actual.launch_plans.get(key, [])
    )
    return {"launch_plans": [list(key)], "digest": digest(versions)}


def plan(desired: DesiredLaunchPlan, actual: Actual, address: str) -> Change:
    stored = actual.launch_plan(desired.key, desired.version)
    active_now = actual.active_launch_plan(desired.key)
    seen = observed(actual, desired.key)
    activate = launch_plan_pb2.LaunchPlanUpdateRequest(id=desired.id, state=launch_plan_pb2.ACTIVE)
    if stored is None:
        operations = [desired.create_operation()]
        reason = f"version {desired.version} is not registered"
        if desired.active:
            operations.append(
                Operation("UpdateLaunchPlan", activate.SerializeToString(deterministic=True))
            )
            reason += "; it will be activated" + _replacing(active_now)
        return Change(
            address,
            Action.CREATE,
            None,
            _with_version(desired.view, desired.version),
            reason=reason,
            operations=tuple(operations),
            observed=seen,
        )
    stored_view = launch_plan_view(
        stored.spec, active=stored.closure.state == launch_plan_pb2.ACTIVE
    )
    if normalized(stored.spec) != normalized(desired.spec):
        redacted_stored = dict(stored_view)
        for key in ("defaultInputs", "fixedInputs"):
            # a secret input in Admin is shown the way git writes it, never as its value
            for name, value in desired.view.get(key, {}).items():
                if (
                    isinstance(value, str)
                    and value.startswith("${env:")
                    and name in redacted_stored.get(key, {})
                ):
                    redacted_stored[key] = {**redacted_stored[key], name: "(secret in Admin)"}
        return Change(
            address,
            Action.CONFLICT,
            _with_version(redacted_stored, desired.version),
            _with_version(desired.view, desired.version),
            diff=diff({"spec": redacted_stored}, {"spec": desired.view}),
            reason=(
                f"version {desired.version} exists in Admin with a different spec and launch plan "
                "versions cannot change: bump spec.version or use version: auto"
            ),
            observed=seen,
        )
    is_active = stored.closure.state == launch_plan_pb2.ACTIVE
    before = _with_version(stored_view, desired.version)
    after = _with_version(desired.view, desired.version)
    if desired.active and not is_active:
        return Change(
            address,
            Action.UPDATE,
            before,
            after,
            diff=diff({"spec": {"active": False}}, {"spec": {"active": True}}),
            reason=f"activate version {desired.version}" + _replacing(active_now),
            operations=(
                Operation("UpdateLaunchPlan", activate.SerializeToString(deterministic=True)),
            ),
            observed=seen,
        )
    if not desired.active and is_active:
        deactivate = launch_plan_pb2.LaunchPlanUpdateRequest(
            id=desired.id, state=launch_plan_pb2.INACTIVE
        )
        return Change(
            address,
            Action.DEACTIVATE,
            before,
            after,
            diff=diff({"spec": {"active": True}}, {"spec": {"active": False}}),
            reason=f"deactivate version {desired.version}",
            operations=(
                Operation("UpdateLaunchPlan", deactivate.SerializeToString(deterministic=True)),
            ),
            observed=seen,
        )
    return Change(address, Action.NOOP, before, after, observed=seen)


def _replacing(active_now: Any) -> str:
    if active_now is None:
        return ""
    return f" (replacing active version {active_now.id.version})"


def _with_version(view: dict[str, Any], version: str) -> dict[str, Any]:
    return {"version": version, **view}


def prune_change(stored: Any, address: str, actual: Actual) -> Change:
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
        operations=(Operation("UpdateLaunchPlan", request.SerializeToString(deterministic=True)),),
        observed=observed(actual, key),
    )
