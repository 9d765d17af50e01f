"""Every LaunchPlan and Execution option reaches the spec Admin stores, and the plan after apply
is empty (a new option must be added here, or it may silently never reach Admin)."""

from __future__ import annotations

from flyteidl.admin import common_pb2, execution_pb2, launch_plan_pb2
from flyteidl.core import identifier_pb2

from reconciler.manifests.execution import ExecutionSpec
from reconciler.manifests.launchplan import LaunchPlanSpec
from tests.engine.conftest import DOMAIN, PROJECT, settings

LAUNCH_PLAN = """\
apiVersion: reconciler/v1
kind: LaunchPlan
metadata: {name: everything}
spec:
  version: v7
  workflow: {name: wf, version: v1}
  active: true
  schedule: {cron: "0 6 * * *", kickoffTimeInputArg: run_date}
  defaultInputs: {a: 3}
  fixedInputs: {region: us}
  labels: {team: analytics}
  annotations: {note: all-options}
  envs: {MODE: full}
  notifications: [{phases: [FAILED, TIMED_OUT], slack: ["#alerts"]}]
  maxParallelism: 7
  rawOutputDataPrefix: s3://bucket/lp-raw
  serviceAccount: lp-sa
  securityContext: {runAs: {iamRole: "arn:aws:iam::1:role/lp", executionIdentity: lp-identity}}
  interruptible: true
  overwriteCache: true
"""
EXECUTION = """\
apiVersion: reconciler/v1
kind: Execution
metadata: {name: every-option}
spec:
  launchPlan: {name: everything, version: v7}
  inputs: {run_date: 2026-11-30T00:00:00Z, a: 5}
  labels: {ticket: fin-118}
  annotations: {why: coverage}
  envs: {DEBUG: "1"}
  tags: [nightly]
  notifications: [{phases: [SUCCEEDED], email: [ops@example.com]}]
  overwriteCache: true
  interruptible: false
  maxParallelism: 3
  clusterPool: gpu-pool
  executionClusterLabel: gpu-label
  rawOutputDataPrefix: s3://bucket/run-raw
  serviceAccount: run-sa
---
apiVersion: reconciler/v1
kind: Execution
metadata: {name: quiet-run}
spec:
  launchPlan: {name: everything, version: v7}
  inputs: {run_date: 2026-11-30T00:00:00Z}
  disableNotifications: true
"""

# The manifest fields this test covers; a field added to a model must be added here too.
LAUNCH_PLAN_FIELDS = {
    "version", "workflow", "active", "schedule", "default_inputs", "fixed_inputs", "labels",
    "annotations", "envs", "notifications", "max_parallelism", "raw_output_data_prefix",
    "security_context", "service_account", "interruptible", "overwrite_cache",
}  # fmt: skip
EXECUTION_FIELDS = {
    "launch_plan", "inputs", "labels", "annotations", "envs", "tags", "notifications",
    "disable_notifications", "overwrite_cache", "interruptible", "max_parallelism",
    "cluster_pool", "execution_cluster_label", "raw_output_data_prefix", "service_account",
    "task", "workflow", "state", "on_failure",
}  # fmt: skip


def test_the_test_covers_every_manifest_field() -> None:
    assert set(LaunchPlanSpec.model_fields) == LAUNCH_PLAN_FIELDS
    assert set(ExecutionSpec.model_fields) == EXECUTION_FIELDS


def test_every_option_reaches_the_stored_spec(  # type: ignore[no-untyped-def]
    run_cli, local_admin, registered, stub, tmp_path
) -> None:
    root = settings(tmp_path / "manifests")
    (root / "lp.yaml").write_text(LAUNCH_PLAN)
    (root / "runs.yaml").write_text(EXECUTION)
    endpoint = ("--endpoint", local_admin.endpoint, "--insecure")

    applied = run_cli("apply", root, "--auto-approve", *endpoint)
    assert applied.code == 0, applied.out + applied.err
    again = run_cli("plan", root, "--detailed-exitcode", *endpoint)
    assert again.code == 0, again.out + again.err
    _check_launch_plan(stub)
    _check_runs(stub)


def _check_launch_plan(stub) -> None:  # type: ignore[no-untyped-def]
    lp = stub.GetLaunchPlan(
        common_pb2.ObjectGetRequest(
            id=identifier_pb2.Identifier(
                resource_type=identifier_pb2.LAUNCH_PLAN,
                project=PROJECT,
                domain=DOMAIN,
                name="everything",
                version="v7",
            )
        )
    )
    spec = lp.spec
    assert lp.closure.state == launch_plan_pb2.ACTIVE
    assert spec.workflow_id.name == "wf"
    assert spec.workflow_id.version == "v1"
    schedule = spec.entity_metadata.schedule
    assert schedule.cron_schedule.schedule == "0 6 * * *"
    assert schedule.kickoff_time_input_arg == "run_date"
    assert spec.default_inputs.parameters["a"].default.scalar.primitive.integer == 3
    assert spec.fixed_inputs.literals["region"].scalar.primitive.string_value == "us"
    assert spec.labels.values["team"] == "analytics"
    assert spec.annotations.values["note"] == "all-options"
    assert [(kv.key, kv.value) for kv in spec.envs.values] == [("MODE", "full")]
    [notification] = spec.entity_metadata.notifications
    assert list(notification.slack.recipients_email) == ["#alerts"]
    assert spec.max_parallelism == 7
    assert spec.raw_output_data_config.output_location_prefix == "s3://bucket/lp-raw"
    run_as = spec.security_context.run_as
    assert run_as.k8s_service_account == "lp-sa"
    assert run_as.iam_role == "arn:aws:iam::1:role/lp"
    assert run_as.execution_identity == "lp-identity"
    assert spec.interruptible.value is True
    assert spec.overwrite_cache is True


def _check_runs(stub) -> None:  # type: ignore[no-untyped-def]
    run = stub.GetExecution(
        execution_pb2.WorkflowExecutionGetRequest(
            id=identifier_pb2.WorkflowExecutionIdentifier(
                project=PROJECT, domain=DOMAIN, name="every-option"
            )
        )
    ).spec
    assert run.launch_plan.name == "everything"
    assert run.launch_plan.version == "v7"
    assert run.labels.values["ticket"] == "fin-118"
    assert run.annotations.values["why"] == "coverage"
    assert [(kv.key, kv.value) for kv in run.envs.values] == [("DEBUG", "1")]
    assert list(run.tags) == ["nightly"]
    [run_notification] = run.notifications.notifications
    assert list(run_notification.email.recipients_email) == ["ops@example.com"]
    assert run.overwrite_cache is True
    assert run.HasField("interruptible")
    assert run.interruptible.value is False
    assert run.max_parallelism == 3
    assert run.cluster_assignment.cluster_pool_name == "gpu-pool"
    assert run.execution_cluster_label.value == "gpu-label"
    assert run.raw_output_data_config.output_location_prefix == "s3://bucket/run-raw"
    assert run.security_context.run_as.k8s_service_account == "run-sa"
    data = stub.GetExecutionData(
        execution_pb2.WorkflowExecutionGetDataRequest(
            id=identifier_pb2.WorkflowExecutionIdentifier(
                project=PROJECT, domain=DOMAIN, name="every-option"
            )
        )
    )
    assert data.full_inputs.literals["a"].scalar.primitive.integer == 5

    quiet = stub.GetExecution(
        execution_pb2.WorkflowExecutionGetRequest(
            id=identifier_pb2.WorkflowExecutionIdentifier(
                project=PROJECT, domain=DOMAIN, name="quiet-run"
            )
        )
    ).spec
    assert quiet.disable_all is True
