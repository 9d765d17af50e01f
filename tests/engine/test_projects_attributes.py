"""``kind: Project`` and ``kind: Attributes`` end to end: the CLI against the local Admin over
gRPC, with flytekit's ``FlyteRemote`` (and its client) as the other party that changes things
behind git's back and launches runs that must pick the attributes up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flyteidl.admin import (
    execution_pb2,
    matchable_resource_pb2,
    project_attributes_pb2,
    project_pb2,
)
from flyteidl.core import identifier_pb2
from flyteidl.service import admin_pb2_grpc
from flytekit.clients.raw import RawSynchronousFlyteClient
from flytekit.configuration import Config, ImageConfig, SerializationSettings
from flytekit.exceptions.user import FlyteEntityNotExistException
from flytekit.models.matchable_resource import (
    ExecutionQueueAttributes,
    MatchableResource,
    MatchingAttributes,
    PluginOverride,
    PluginOverrides,
)
from flytekit.remote import FlyteRemote

from reconciler.localadmin import LocalAdmin, ManualClock
from reconciler.plan.common import OWNER_KEY
from tests.localadmin import flyte_entities as fe

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

PROJECT = "acme"
DOMAIN = "development"
OWNER = "team-platform"
# flytekit's MatchableResource stops before CLUSTER_ASSIGNMENT
CLUSTER_ASSIGNMENT = matchable_resource_pb2.MatchableResource.CLUSTER_ASSIGNMENT

PROJECT_MANIFEST = """\
apiVersion: reconciler/v1
kind: Project
metadata: {{name: acme}}
spec: {{description: "{description}", labels: {{team: ml}}, state: {state}}}
"""
PROJECT_LEVEL = """\
apiVersion: reconciler/v1
kind: Attributes
metadata: {name: acme-defaults}
spec:
  executionClusterLabel: general
  workflowExecutionConfig: {interruptible: true}
"""
DOMAIN_LEVEL = """\
apiVersion: reconciler/v1
kind: Attributes
metadata: {{name: acme-development, domain: development}}
spec:
  taskResources: {{defaults: {{cpu: "1", memory: 1Gi}}, limits: {{cpu: 4, memory: 8Gi}}}}
  clusterResources: {{attributes: {{projectQuotaCpu: "16"}}}}
  executionQueue: {{tags: [{queue}]}}
  executionClusterLabel: gpu-pool
  pluginOverrides: [{plugins}]
  workflowExecutionConfig:
    maxParallelism: 7
    securityContext: {{serviceAccount: etl}}
    rawOutputDataPrefix: s3://bucket/raw
    labels: {{cost-center: ml}}
  clusterAssignment: {{clusterPoolName: default}}
"""
SPARK = "{taskType: spark, pluginId: [spark-on-k8s]}"
RAY = "{taskType: ray, pluginId: [kuberay], missingPluginBehavior: useDefault}"
WORKFLOW_LEVEL = """\
apiVersion: reconciler/v1
kind: Attributes
metadata: {name: pipeline-queue, domain: development}
spec:
  workflow: tests.localadmin.flyte_entities.pipeline
  executionQueue: {tags: [critical]}
"""


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[LocalAdmin]:
    with LocalAdmin(clock=ManualClock(), data_dir=tmp_path / "data") as running:
        yield running


@pytest.fixture
def remote(admin: LocalAdmin) -> FlyteRemote:
    return FlyteRemote(
        Config.for_endpoint(admin.endpoint, insecure=True),
        default_project=PROJECT,
        default_domain=DOMAIN,
    )


def _tree(
    root: Path,
    *,
    description: str = "Acme's pipelines",
    state: str = "active",
    queue: str = "gpu",
    plugins: str = f"{SPARK}, {RAY}",
    workflow_level: bool = True,
    owner: str = OWNER,
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "reconciler.yaml").write_text(
        f"defaults: {{project: {PROJECT}, domain: {DOMAIN}}}\nownerId: {owner}\n"
    )
    (root / "project.yaml").write_text(
        PROJECT_MANIFEST.format(description=description, state=state)
    )
    (root / "attributes.yaml").write_text(
        PROJECT_LEVEL + "---\n" + DOMAIN_LEVEL.format(queue=queue, plugins=plugins)
    )
    workflow = root / "workflow.yaml"
    if workflow_level:
        workflow.write_text(WORKFLOW_LEVEL)
    elif workflow.exists():
        workflow.unlink()
    return root


def _run(run_cli, admin: LocalAdmin, *args: object):  # type: ignore[no-untyped-def]
    return run_cli(*args, "--endpoint", admin.endpoint, "--insecure")


def _apply(run_cli, admin: LocalAdmin, root: Path, *flags: str) -> str:  # type: ignore[no-untyped-def]
    result = _run(run_cli, admin, "apply", root, "--auto-approve", *flags)
    assert result.code == 0, result.out + result.err
    return str(result.out)


def _plan(run_cli, admin: LocalAdmin, root: Path, *flags: str) -> dict[str, dict]:  # type: ignore[no-untyped-def, type-arg]
    result = _run(run_cli, admin, "plan", root, "-o", "json", *flags)
    assert result.code == 0, result.out + result.err
    return {c["address"]: c for c in json.loads(result.out)["changes"]}


def _attributes(remote: FlyteRemote, resource: int) -> MatchingAttributes:
    found = remote.client.get_project_domain_attributes(PROJECT, DOMAIN, resource)
    assert found.attributes.domain == DOMAIN  # a row of this level, not the project's
    return found.attributes.matching_attributes


def _queue_behind_gits_back(remote: FlyteRemote) -> None:
    """What someone does with flytekit: send the project-domain's runs to another queue."""
    remote.client.update_project_domain_attributes(
        PROJECT,
        DOMAIN,
        MatchingAttributes(execution_queue_attributes=ExecutionQueueAttributes(tags=["cpu"])),
    )


def _project(remote: FlyteRemote) -> project_pb2.Project:
    """GetProject, which flytekit's client lacks, through its own channel."""
    stub = admin_pb2_grpc.AdminServiceStub(remote.client._channel)
    return stub.GetProject(project_pb2.ProjectGetRequest(id=PROJECT))  # type: ignore[no-any-return]


def test_project_and_attributes_apply_then_plan_is_empty(run_cli, admin, remote, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path / "m")
    first = _plan(run_cli, admin, root)
    assert {a: c["action"] for a, c in first.items()} == {
        "Project/acme/-/acme": "create",
        "Attributes/acme/-/acme-defaults": "create",
        "Attributes/acme/development/acme-development": "create",
        "Attributes/acme/development/pipeline-queue": "create",
    }
    out = _apply(run_cli, admin, root)
    assert "Apply: 4 done, 0 failed." in out
    again = _run(run_cli, admin, "plan", root, "--detailed-exitcode")
    assert again.code == 0, again.out + again.err
    assert "Plan: 4 unchanged." in again.out

    project = _project(remote)
    assert project.description == "Acme's pipelines"
    assert dict(project.labels.values) == {"team": "ml", OWNER_KEY: OWNER}
    queue = _attributes(remote, MatchableResource.EXECUTION_QUEUE)
    assert list(queue.execution_queue_attributes.tags) == ["gpu"]
    resources = _attributes(remote, MatchableResource.TASK_RESOURCE).task_resource_attributes
    assert (resources.defaults.cpu, resources.limits.memory) == ("1", "8Gi")
    plugins = _attributes(remote, MatchableResource.PLUGIN_OVERRIDE).plugin_overrides
    assert {o.task_type for o in plugins.overrides} == {"spark", "ray"}
    pool = _attributes(remote, CLUSTER_ASSIGNMENT).cluster_assignment
    assert pool.cluster_pool_name == "default"


def test_a_change_behind_gits_back_is_drift_and_apply_puts_it_back(
    run_cli, admin, remote, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path / "m")
    _apply(run_cli, admin, root)
    _queue_behind_gits_back(remote)
    drift = _run(run_cli, admin, "drift", root, "-o", "json")
    assert drift.code == 2, drift.out + drift.err
    assert "Attributes/acme/development/acme-development" in drift.out
    change = _plan(run_cli, admin, root)["Attributes/acme/development/acme-development"]
    assert change["action"] == "update"
    assert change["diff"] == [
        {"path": "spec.executionQueue.tags[0]", "before": "cpu", "after": "gpu"}
    ]
    _apply(run_cli, admin, root)
    assert list(
        _attributes(remote, MatchableResource.EXECUTION_QUEUE).execution_queue_attributes.tags
    ) == ["gpu"]
    assert _run(run_cli, admin, "drift", root).code == 0


def test_an_execution_launched_afterwards_gets_the_attributes(
    run_cli, admin, remote, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    _apply(run_cli, admin, _tree(tmp_path / "m"))
    settings = SerializationSettings(
        image_config=ImageConfig.auto_default_image(), project=PROJECT, domain=DOMAIN, version="v1"
    )
    workflow = remote.register_workflow(fe.pipeline, settings, version="v1")
    launch_plan = remote.fetch_launch_plan(name=workflow.id.name, version="v1")
    execution = remote.execute(launch_plan, inputs={"a": 1}, execution_name="after-attrs")
    stored = remote.client.raw.get_execution(
        execution_pb2.WorkflowExecutionGetRequest(id=execution.id.to_flyte_idl())
    ).spec
    # Admin resolves max parallelism and the security context into the stored spec ...
    assert stored.max_parallelism == 7
    assert stored.security_context.run_as.k8s_service_account == "etl"
    # ... and hands the rest to the workflow: the project-domain row, then the project's row
    resolved = admin.executions.resolved_spec(
        identifier_pb2.WorkflowExecutionIdentifier(
            project=PROJECT, domain=DOMAIN, name="after-attrs"
        )
    )
    assert resolved.raw_output_data_config.output_location_prefix == "s3://bucket/raw"
    assert resolved.labels.values["cost-center"] == "ml"
    assert resolved.interruptible.value is True  # from the project level
    assert resolved.labels.values[OWNER_KEY] == OWNER  # the project's labels: the marker


def test_prune_deletes_a_removed_type_only_when_the_project_carries_our_marker(
    run_cli, admin, remote, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path / "m")
    _apply(run_cli, admin, root)
    text = (root / "attributes.yaml").read_text()
    _tree(root, workflow_level=False)
    (root / "attributes.yaml").write_text(
        text.replace("  clusterAssignment: {clusterPoolName: default}\n", "")
    )

    # without --prune, what git no longer names is left alone
    plain = _plan(run_cli, admin, root)
    assert all(c["action"] == "noop" for c in plain.values()), plain

    # another tree's marker on the project: nothing is ours to delete
    project = _project(remote)
    project.labels.values[OWNER_KEY] = "someone-else"
    project.ClearField("domains")
    # flytekit's Project model has no labels: its raw client sends Admin's message
    RawSynchronousFlyteClient.update_project(remote.client, project)
    theirs = _plan(run_cli, admin, root, "--prune")
    assert theirs["Attributes/acme/development/acme-development"]["action"] == "noop"
    assert not any(c["action"] == "delete" for c in theirs.values())

    # our marker: the type gone from git and the workflow level gone from git are deleted
    project.labels.values[OWNER_KEY] = OWNER
    RawSynchronousFlyteClient.update_project(remote.client, project)
    ours = _plan(run_cli, admin, root, "--prune")
    change = ours["Attributes/acme/development/acme-development"]
    assert change["action"] == "update"
    assert [o["call"] for o in change["operations"]] == ["DeleteProjectDomainAttributes"]
    orphan = ours["Attributes/acme/development/tests.localadmin.flyte_entities.pipeline"]
    assert orphan["action"] == "delete"
    _apply(run_cli, admin, root, "--prune")
    with pytest.raises(FlyteEntityNotExistException):
        remote.client.get_project_domain_attributes(PROJECT, DOMAIN, CLUSTER_ASSIGNMENT)
    assert list(
        remote.client.get_workflow_attributes(
            PROJECT,
            DOMAIN,
            "tests.localadmin.flyte_entities.pipeline",
            MatchableResource.EXECUTION_QUEUE,
        ).attributes.matching_attributes.execution_queue_attributes.tags
    ) == ["gpu"]  # the project-domain row answers now: the workflow row is gone
    after = _run(run_cli, admin, "plan", root, "--prune", "--detailed-exitcode")
    assert after.code == 0, after.out + after.err


def test_dropping_a_plugin_override_deletes_it_and_keeps_the_rows_below(
    run_cli, admin, remote, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path / "m")
    _apply(run_cli, admin, root)
    # someone else's workflow-level override, below the level the plan must delete at
    remote.client.update_workflow_attributes(
        PROJECT,
        DOMAIN,
        "other.workflow",
        MatchingAttributes(
            plugin_overrides=PluginOverrides(
                [PluginOverride("spark", ["theirs"], PluginOverride.FAIL)]
            )
        ),
    )
    _tree(root, plugins=SPARK)
    change = _plan(run_cli, admin, root)["Attributes/acme/development/acme-development"]
    assert [o["call"] for o in change["operations"]] == [
        "DeleteProjectDomainAttributes",
        "UpdateWorkflowAttributes",
        "UpdateProjectDomainAttributes",
    ]
    _apply(run_cli, admin, root)
    plugins = _attributes(remote, MatchableResource.PLUGIN_OVERRIDE).plugin_overrides
    assert [o.task_type for o in plugins.overrides] == ["spark"]
    theirs = remote.client.get_workflow_attributes(
        PROJECT, DOMAIN, "other.workflow", MatchableResource.PLUGIN_OVERRIDE
    ).attributes
    assert theirs.workflow == "other.workflow"
    assert list(theirs.matching_attributes.plugin_overrides.overrides[0].plugin_id) == ["theirs"]
    assert _run(run_cli, admin, "plan", root, "--detailed-exitcode").code == 0


def test_archiving_a_project_is_an_update_never_a_delete(run_cli, admin, remote, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "m"
    root.mkdir()
    (root / "reconciler.yaml").write_text(f"ownerId: {OWNER}\n")
    (root / "project.yaml").write_text(PROJECT_MANIFEST.format(description="x", state="active"))
    _apply(run_cli, admin, root)
    (root / "project.yaml").write_text(PROJECT_MANIFEST.format(description="x", state="archived"))
    change = _plan(run_cli, admin, root)["Project/acme/-/acme"]
    assert change["action"] == "update"
    assert change["diff"] == [{"path": "spec.state", "before": "active", "after": "archived"}]
    assert [o["call"] for o in change["operations"]] == ["UpdateProject"]
    _apply(run_cli, admin, root)
    assert _project(remote).state == project_pb2.Project.ARCHIVED
    assert _run(run_cli, admin, "plan", root, "--detailed-exitcode").code == 0
    # gone from git: left as it is
    (root / "project.yaml").unlink()
    (root / "other.yaml").write_text(
        PROJECT_MANIFEST.format(description="x", state="active").replace("acme", "other")
    )
    pruned = _plan(run_cli, admin, root, "--prune")
    assert "Project/acme/-/acme" not in pruned
    assert _project(remote).state == project_pb2.Project.ARCHIVED


def test_project_level_execution_config_shows_no_server_defaults(
    run_cli, admin, remote, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """GetProjectAttributes(WORKFLOW_EXECUTION_CONFIG) answers maxParallelism 25 from the server
    defaults; the plan reads the project's own row instead."""
    root = _tree(tmp_path / "m")
    _apply(run_cli, admin, root)
    stub = admin_pb2_grpc.AdminServiceStub(remote.client._channel)
    answered = stub.GetProjectAttributes(
        project_attributes_pb2.ProjectAttributesGetRequest(
            project=PROJECT,
            resource_type=matchable_resource_pb2.MatchableResource.WORKFLOW_EXECUTION_CONFIG,
        ),
    )
    assert answered.attributes.matching_attributes.workflow_execution_config.max_parallelism == 25
    change = _plan(run_cli, admin, root, "--prune")["Attributes/acme/-/acme-defaults"]
    assert change["action"] == "noop"
    assert change["before"]["workflowExecutionConfig"] == {"interruptible": True}


def test_a_saved_plan_is_refused_when_attributes_changed_since(
    run_cli, admin, remote, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path / "m")
    _apply(run_cli, admin, root)
    _tree(root, queue="big")
    saved = tmp_path / "plan.json"
    assert _run(run_cli, admin, "plan", root, "--out", saved).code == 0
    _queue_behind_gits_back(remote)
    refused = _run(run_cli, admin, "apply", "--plan", saved, "--auto-approve")
    assert refused.code == 1
    assert "Attributes/acme/development/acme-development" in refused.out + refused.err


def test_attributes_in_a_project_admin_lacks_are_an_error_against_a_real_admin(
    run_cli, admin, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "m"
    root.mkdir()
    (root / "a.yaml").write_text(
        DOMAIN_LEVEL.format(queue="gpu", plugins=SPARK).replace(
            "domain: development}", "domain: development, project: nowhere}"
        )
    )
    result = _run(run_cli, admin, "plan", root)
    assert result.code == 1
    assert "nowhere" in result.err


def test_values_from_the_environment_never_reach_a_plan(  # type: ignore[no-untyped-def]
    run_cli, admin, remote, tmp_path, monkeypatch
) -> None:
    root = tmp_path / "m"
    root.mkdir()
    (root / "p.yaml").write_text(PROJECT_MANIFEST.format(description="x", state="active"))
    (root / "a.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Attributes\n"
        "metadata: {name: acme-dev, project: acme, domain: development}\n"
        'spec: {workflowExecutionConfig: {envs: {TOKEN: "${env:TOKEN}"}}}\n'
    )
    monkeypatch.setenv("TOKEN", "s3cr3t-value")
    saved = tmp_path / "plan.json"
    planned = _run(run_cli, admin, "plan", root, "--out", saved)
    assert planned.code == 0, planned.err
    assert "s3cr3t-value" not in planned.out + saved.read_text()
    _run(run_cli, admin, "apply", "--plan", saved, "--auto-approve")
    config = remote.client.get_project_domain_attributes(
        PROJECT, DOMAIN, matchable_resource_pb2.MatchableResource.WORKFLOW_EXECUTION_CONFIG
    ).attributes.matching_attributes.workflow_execution_config
    assert [(e.key, e.value) for e in config.envs.values] == [("TOKEN", "s3cr3t-value")]
    assert _run(run_cli, admin, "plan", root, "--detailed-exitcode").code == 0
    monkeypatch.setenv("TOKEN", "rotated")
    change = _plan(run_cli, admin, root)["Attributes/acme/development/acme-dev"]
    assert change["diff"] == [
        {
            "path": "spec.workflowExecutionConfig.envs.TOKEN",
            "before": "(another value in Admin)",
            "after": "${env:TOKEN}",
        }
    ]
