"""Fidelity of the local Admin, measured with flytekit's unmodified ``FlyteRemote`` as client.

Outputs are the engine's simulated values (zero values of the declared types, see nodes.py):
these tests check that flytekit can register, launch, wait, read and steer executions, not what
user code would compute.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from flyteidl.admin.common_pb2 import NamedEntityGetRequest
from flyteidl.admin.matchable_resource_pb2 import MatchingAttributes as PbMatchingAttributes
from flyteidl.admin.matchable_resource_pb2 import WorkflowExecutionConfig
from flyteidl.admin.project_domain_attributes_pb2 import (
    ProjectDomainAttributes,
    ProjectDomainAttributesUpdateRequest,
)
from flyteidl.core.security_pb2 import Identity, SecurityContext
from flytekit.clients.raw import RawSynchronousFlyteClient
from flytekit.configuration import Config, ImageConfig, SerializationSettings
from flytekit.core.options import Options
from flytekit.exceptions.user import FlyteEntityNotExistException, FlyteInvalidInputException
from flytekit.models.common import Annotations
from flytekit.models.core.execution import WorkflowExecutionPhase
from flytekit.models.core.identifier import ResourceType, WorkflowExecutionIdentifier
from flytekit.models.filters import Equal, ValueIn
from flytekit.models.matchable_resource import (
    ExecutionClusterLabel,
    ExecutionQueueAttributes,
    MatchableResource,
    MatchingAttributes,
)
from flytekit.models.named_entity import (
    NamedEntityIdentifier,
    NamedEntityMetadata,
    NamedEntityState,
)
from flytekit.remote import FlyteRemote

from reconciler.localadmin import LocalAdmin, ManualClock
from reconciler.localadmin.nodes import OUTPUTS_ANNOTATION as OUTPUTS
from tests.localadmin import flyte_entities as fe

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

PROJECT = "flytesnacks"
DOMAIN = "development"


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


@pytest.fixture
def settings() -> SerializationSettings:
    return SerializationSettings(
        image_config=ImageConfig.auto_default_image(),
        project=PROJECT,
        domain=DOMAIN,
        version="v1",
    )


def _finish(admin: LocalAdmin, remote: FlyteRemote, execution):  # type: ignore[no-untyped-def]
    """Run simulated time on, then let flytekit's own wait() see the finished execution."""
    admin.advance(600)
    return remote.wait(execution, timeout=30, poll_interval=1)


def test_register_and_fetch_a_task(remote: FlyteRemote, settings: SerializationSettings) -> None:
    registered = remote.register_task(fe.add_one, settings, version="v1")
    fetched = remote.fetch_task(name=registered.id.name, version="v1")
    assert fetched.id.name.endswith("add_one")
    assert list(fetched.interface.inputs) == ["a"]


def test_register_and_fetch_a_workflow(
    remote: FlyteRemote, settings: SerializationSettings
) -> None:
    registered = remote.register_workflow(fe.pipeline, settings, version="v1")
    fetched = remote.fetch_workflow(name=registered.id.name, version="v1")
    assert {n.id for n in fetched.flyte_nodes} == {"n0", "n1"}
    assert set(fetched.interface.outputs) == {"o0", "o1"}


def test_reregistering_identical_entities_is_silent(
    remote: FlyteRemote, settings: SerializationSettings
) -> None:
    remote.register_workflow(fe.pipeline, settings, version="v1")
    again = remote.register_workflow(fe.pipeline, settings, version="v1")
    assert again.id.version == "v1"


def test_different_spec_at_the_same_version_raises(
    remote: FlyteRemote, settings: SerializationSettings
) -> None:
    remote.register_task(fe.add_one, settings, version="v1")
    changed = SerializationSettings(
        image_config=ImageConfig.auto(img_name="registry.example/other:1"),
        project=PROJECT,
        domain=DOMAIN,
        version="v1",
    )
    # flytekit swallows ALREADY_EXISTS only; INVALID_ARGUMENT surfaces as BadInputToAPI
    with pytest.raises(FlyteInvalidInputException, match="different structure already exists"):
        remote.register_task(fe.add_one, changed, version="v1")


def test_execute_a_workflow_and_read_outputs_and_nodes(
    admin: LocalAdmin, remote: FlyteRemote, settings: SerializationSettings
) -> None:
    workflow = remote.register_workflow(fe.pipeline, settings, version="v1")
    launch_plan = remote.fetch_launch_plan(name=workflow.id.name, version="v1")
    execution = remote.execute(launch_plan, inputs={"a": 5, "name": "ada"}, execution_name="pipe-1")
    assert execution.closure.phase == WorkflowExecutionPhase.QUEUED
    done = _finish(admin, remote, execution)
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED
    assert done.inputs["a"] == 5
    assert done.outputs["o0"] == 0  # simulated: zero value of int
    assert done.outputs["o1"] == ""  # simulated: zero value of str
    synced = remote.sync_execution(done, sync_nodes=True)
    # flytekit skips Admin's start-node/end-node records when it syncs them
    assert set(synced.node_executions) == {"start-node", "n0", "n1", "end-node"}
    node = synced.node_executions["n0"]
    assert node.inputs["a"] == 5
    assert len(node.task_executions) == 1
    assert node.task_executions[0].is_done


def test_execute_a_task_directly(
    admin: LocalAdmin, remote: FlyteRemote, settings: SerializationSettings
) -> None:
    execution = remote.execute(
        fe.add_one,
        inputs={"a": 1},
        execution_name="task-1",
        version="v1",
        serialization_settings=settings,
    )
    done = _finish(admin, remote, execution)
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED
    assert done.outputs["o0"] == 0
    synced = remote.sync_execution(done, sync_nodes=True)
    (task_node,) = [n for n in synced.node_executions.values() if n.task_executions]
    assert task_node.outputs["o0"] == 0


def test_register_activate_and_fetch_the_active_launch_plan(
    remote: FlyteRemote, settings: SerializationSettings
) -> None:
    remote.register_launch_plan(fe.daily_lp, version="v1", serialization_settings=settings)
    # fetch_active_launchplan turns Admin's NOT_FOUND into None
    assert remote.fetch_active_launchplan(name="daily_report") is None
    remote.activate_launchplan(remote.fetch_launch_plan(name="daily_report", version="v1").id)
    active = remote.fetch_active_launchplan(name="daily_report")
    assert active is not None
    assert active.id.version == "v1"
    assert active.entity_metadata.schedule.kickoff_time_input_arg == "run_date"


def test_launch_plan_with_datetime_input(
    admin: LocalAdmin, remote: FlyteRemote, settings: SerializationSettings
) -> None:
    launch_plan = remote.register_launch_plan(
        fe.daily_lp, version="v1", serialization_settings=settings
    )
    when = datetime(2026, 11, 30, tzinfo=timezone.utc)
    execution = remote.execute(launch_plan, inputs={"run_date": when}, execution_name="daily-1")
    done = _finish(admin, remote, execution)
    assert done.inputs["run_date"] == when
    assert done.inputs["region"] == "us"


def test_duplicate_execution_name_returns_the_existing_execution(
    remote: FlyteRemote, settings: SerializationSettings
) -> None:
    workflow = remote.register_workflow(fe.pipeline, settings, version="v1")
    launch_plan = remote.fetch_launch_plan(name=workflow.id.name, version="v1")
    first = remote.execute(launch_plan, inputs={"a": 1}, execution_name="same")
    # Admin answers ALREADY_EXISTS; flytekit logs it and fetches the existing execution
    second = remote.execute(launch_plan, inputs={"a": 2}, execution_name="same")
    assert second.id == first.id
    assert remote.sync_execution(second).inputs["a"] == 1


def _gated_execution(remote: FlyteRemote, settings: SerializationSettings, name: str):  # type: ignore[no-untyped-def]
    workflow = remote.register_workflow(fe.gated, settings, version="v1")
    launch_plan = remote.fetch_launch_plan(name=workflow.id.name, version="v1")
    return remote.execute(launch_plan, inputs={"a": 1}, execution_name=name)


def test_approve_and_set_input_on_gates(
    admin: LocalAdmin, remote: FlyteRemote, settings: SerializationSettings
) -> None:
    execution = _gated_execution(remote, settings, "gate-1")
    admin.advance(60)
    assert [s.id.signal_id for s in remote.list_signals("gate-1")] == ["release_ok"]
    remote.approve("release_ok", "gate-1")
    admin.advance(1)
    assert {s.id.signal_id for s in remote.list_signals("gate-1")} == {"release_ok", "count"}
    remote.set_input("count", "gate-1", 41)
    done = _finish(admin, remote, execution)
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED
    synced = remote.sync_execution(done, sync_nodes=True)
    assert "n3" in synced.node_executions


def test_reject_fails_the_execution(
    admin: LocalAdmin, remote: FlyteRemote, settings: SerializationSettings
) -> None:
    execution = _gated_execution(remote, settings, "gate-2")
    admin.advance(60)
    remote.reject("release_ok", "gate-2")
    done = _finish(admin, remote, execution)
    assert done.closure.phase == WorkflowExecutionPhase.FAILED
    assert "rejected" in done.error.message


def test_set_input_of_the_wrong_type_is_refused(
    admin: LocalAdmin, remote: FlyteRemote, settings: SerializationSettings
) -> None:
    _gated_execution(remote, settings, "gate-3")
    admin.advance(60)
    remote.approve("release_ok", "gate-3")
    admin.advance(1)
    with pytest.raises(FlyteInvalidInputException, match="not castable"):
        remote.set_input("count", "gate-3", "forty-one")


def test_terminate(admin: LocalAdmin, remote: FlyteRemote, settings: SerializationSettings) -> None:
    execution = _gated_execution(remote, settings, "gate-4")
    admin.advance(60)
    remote.terminate(execution, cause="not needed")
    done = _finish(admin, remote, execution)
    assert done.closure.phase == WorkflowExecutionPhase.ABORTED


def test_relaunch_and_recover_through_the_raw_client(
    admin: LocalAdmin, remote: FlyteRemote, settings: SerializationSettings
) -> None:
    workflow = remote.register_workflow(fe.pipeline, settings, version="v1")
    launch_plan = remote.fetch_launch_plan(name=workflow.id.name, version="v1")
    original = remote.execute(launch_plan, inputs={"a": 2}, execution_name="orig")
    _finish(admin, remote, original)
    source = WorkflowExecutionIdentifier(PROJECT, DOMAIN, "orig")
    relaunched = remote.client.relaunch_execution(source, name="orig-relaunch")
    recovered = remote.client.recover_execution(source, name="orig-recover")
    assert relaunched.name == "orig-relaunch"
    for name in ("orig-relaunch", "orig-recover"):
        done = _finish(admin, remote, remote.fetch_execution(name=name))
        assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED
        assert done.inputs["a"] == 2
        assert done.spec.metadata.reference_execution.name == "orig"
    assert recovered.name == "orig-recover"


def test_list_executions_with_filters(
    admin: LocalAdmin, remote: FlyteRemote, settings: SerializationSettings
) -> None:
    workflow = remote.register_workflow(fe.pipeline, settings, version="v1")
    launch_plan = remote.fetch_launch_plan(name=workflow.id.name, version="v1")
    _finish(admin, remote, remote.execute(launch_plan, inputs={"a": 1}, execution_name="l-1"))
    remote.execute(launch_plan, inputs={"a": 1}, execution_name="l-2")
    succeeded = remote.recent_executions(filters=[Equal("phase", "SUCCEEDED")])
    assert [e.id.name for e in succeeded] == ["l-1"]
    both = remote.recent_executions(filters=[ValueIn("phase", ["SUCCEEDED", "QUEUED"])])
    assert {e.id.name for e in both} == {"l-1", "l-2"}
    with pytest.raises(FlyteInvalidInputException, match="invalid filter"):
        remote.recent_executions(filters=[Equal("nonsense", "x")])


@pytest.mark.parametrize(
    "case",
    [
        (fe.outer, {"a": 1}, {"o0": 0}),  # a static sub-workflow node, run as one unit
        (fe.branching, {"a": 1}, {"o0": 0}),  # a branch node (conditions are not evaluated)
        (fe.mapping, {"xs": [1, 2, 3]}, {"o0": [0, 0, 0]}),  # one zero value per mapped item
    ],
    ids=["subworkflow", "branch", "map-task"],
)
def test_compound_nodes_run_and_sync(
    admin: LocalAdmin,
    remote: FlyteRemote,
    settings: SerializationSettings,
    case: tuple[object, dict[str, object], dict[str, object]],
) -> None:
    workflow, inputs, outputs = case
    registered = remote.register_workflow(workflow, settings, version="v1")  # type: ignore[arg-type]
    launch_plan = remote.fetch_launch_plan(name=registered.id.name, version="v1")
    done = _finish(admin, remote, remote.execute(launch_plan, inputs=inputs))
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED
    assert {name: done.outputs[name] for name in outputs} == outputs
    assert all(n.is_done for n in done.node_executions.values())


def test_flytekit_backfill_starts_one_child_execution_per_tick(
    admin: LocalAdmin, remote: FlyteRemote, settings: SerializationSettings
) -> None:
    remote.register_launch_plan(fe.daily_lp, version="v1", serialization_settings=settings)
    backfill = remote.launch_backfill(
        PROJECT,
        DOMAIN,
        datetime(2026, 1, 1, tzinfo=timezone.utc),
        datetime(2026, 1, 4, tzinfo=timezone.utc),
        "daily_report",
        "v1",
        execution_name="bf-1",
        version="bf1",
    )
    assert backfill is not None
    done = _finish(admin, remote, backfill)
    assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED
    kickoffs = []
    for node in done.node_executions.values():
        if node.id.node_id in ("start-node", "end-node"):
            continue
        (child,) = node.workflow_executions
        assert child.spec.metadata.parent_node_execution.execution_id.name == "bf-1"
        kickoffs.append(child.inputs["run_date"])
    # flytekit's ticks start strictly after from_date and stop before to_date (ADMIN-SEMANTICS)
    assert sorted(k.day for k in kickoffs) == [1, 2, 3]
    assert {k.hour for k in kickoffs} == {6}


def test_failed_run_recovers_through_flytekit(
    admin: LocalAdmin, remote: FlyteRemote, settings: SerializationSettings
) -> None:
    from flytekit.core.options import Options
    from flytekit.models.common import Labels

    from reconciler.localadmin.nodes import FAIL_NODE_LABEL

    workflow = remote.register_workflow(fe.pipeline, settings, version="v1")
    launch_plan = remote.fetch_launch_plan(name=workflow.id.name, version="v1")
    # the node is named by its task function, as flytekit writes it into node metadata
    options = Options(labels=Labels({FAIL_NODE_LABEL: "greet"}))
    failed = _finish(
        admin,
        remote,
        remote.execute(launch_plan, inputs={"a": 1}, execution_name="fl", options=options),
    )
    assert failed.closure.phase == WorkflowExecutionPhase.FAILED
    assert "n1" in failed.error.message
    remote.client.recover_execution(WorkflowExecutionIdentifier(PROJECT, DOMAIN, "fl"), name="fl-r")
    recovered = _finish(admin, remote, remote.fetch_execution(name="fl-r"))
    assert recovered.closure.phase == WorkflowExecutionPhase.SUCCEEDED


def test_branch_conditions_are_evaluated_on_inputs(
    admin: LocalAdmin, remote: FlyteRemote, settings: SerializationSettings
) -> None:
    registered = remote.register_workflow(fe.guarded, settings, version="v1")
    launch_plan = remote.fetch_launch_plan(name=registered.id.name, version="v1")
    taken = _finish(admin, remote, remote.execute(launch_plan, inputs={"a": 1}))
    refused = _finish(admin, remote, remote.execute(launch_plan, inputs={"a": -1}))
    assert taken.closure.phase == WorkflowExecutionPhase.SUCCEEDED
    assert refused.closure.phase == WorkflowExecutionPhase.FAILED
    assert "a must be positive" in refused.error.message


def test_outputs_annotation_flows_to_flytekit(
    admin: LocalAdmin, remote: FlyteRemote, settings: SerializationSettings
) -> None:
    from flytekit.core.options import Options
    from flytekit.models.common import Annotations

    from reconciler.localadmin.nodes import OUTPUTS_ANNOTATION

    workflow = remote.register_workflow(fe.pipeline, settings, version="v1")
    launch_plan = remote.fetch_launch_plan(name=workflow.id.name, version="v1")
    chosen = '{"add_one": {"o0": 6}, "greet": {"o0": "hello ada"}}'  # by task function name
    options = Options(annotations=Annotations({OUTPUTS_ANNOTATION: chosen}))
    done = _finish(admin, remote, remote.execute(launch_plan, inputs={"a": 5}, options=options))
    assert (done.outputs["o0"], done.outputs["o1"]) == (6, "hello ada")


def test_sub_workflow_nodes_run_as_children_flytekit_can_walk(
    admin: LocalAdmin, remote: FlyteRemote, settings: SerializationSettings
) -> None:
    registered = remote.register_workflow(fe.outer, settings, version="v1")
    launch_plan = remote.fetch_launch_plan(name=registered.id.name, version="v1")
    options = Options(annotations=Annotations({OUTPUTS: '{"n1-0-n0": {"o0": 9}}'}))
    done = _finish(admin, remote, remote.execute(launch_plan, inputs={"a": 1}, options=options))
    assert done.outputs["o0"] == 9  # the sub-workflow's output comes from its own node
    parent = done.node_executions["n1"]
    assert parent.metadata.is_parent_node
    (child,) = parent.subworkflow_node_executions.values()
    assert child.id.node_id == "n1-0-n0"
    assert child.metadata.spec_node_id == "n0"
    assert child.outputs["o0"] == 9


def test_matchable_attributes_through_the_flytekit_client(
    remote: FlyteRemote, settings: SerializationSettings
) -> None:
    workflow = remote.register_workflow(fe.pipeline, settings, version="v1")
    client = remote.client
    client.update_project_domain_attributes(
        PROJECT,
        DOMAIN,
        MatchingAttributes(execution_queue_attributes=ExecutionQueueAttributes(["pd"])),
    )
    client.update_workflow_attributes(
        PROJECT,
        DOMAIN,
        workflow.id.name,
        MatchingAttributes(execution_cluster_label=ExecutionClusterLabel("gpu")),
    )
    queue = client.get_project_domain_attributes(
        PROJECT, DOMAIN, MatchableResource.EXECUTION_QUEUE
    ).attributes
    assert list(queue.matching_attributes.execution_queue_attributes.tags) == ["pd"]
    label = client.get_workflow_attributes(
        PROJECT, DOMAIN, workflow.id.name, MatchableResource.EXECUTION_CLUSTER_LABEL
    ).attributes
    assert label.matching_attributes.execution_cluster_label.value == "gpu"
    # the workflow level falls back to the project-domain row (most specific wins)
    fallback = client.get_workflow_attributes(
        PROJECT, DOMAIN, workflow.id.name, MatchableResource.EXECUTION_QUEUE
    ).attributes
    assert (fallback.workflow, fallback.domain) == ("", DOMAIN)
    listed = client.list_matchable_attributes(MatchableResource.EXECUTION_QUEUE).configurations
    assert [(c.project, c.domain) for c in listed] == [(PROJECT, DOMAIN)]
    # Admin's NOT_FOUND reaches the caller as flytekit's FlyteEntityNotExistException
    with pytest.raises(FlyteEntityNotExistException):
        client.get_project_domain_attributes(PROJECT, DOMAIN, MatchableResource.PLUGIN_OVERRIDE)


def test_workflow_execution_config_reaches_a_flytekit_execution(
    admin: LocalAdmin, remote: FlyteRemote, settings: SerializationSettings
) -> None:
    # flytekit's MatchingAttributes model has no workflow_execution_config: use the raw request
    workflow = remote.register_workflow(fe.pipeline, settings, version="v1")
    config = WorkflowExecutionConfig(
        max_parallelism=3,
        security_context=SecurityContext(run_as=Identity(k8s_service_account="pd-sa")),
    )
    RawSynchronousFlyteClient.update_project_domain_attributes(
        remote.client,
        ProjectDomainAttributesUpdateRequest(
            attributes=ProjectDomainAttributes(
                project=PROJECT,
                domain=DOMAIN,
                matching_attributes=PbMatchingAttributes(workflow_execution_config=config),
            )
        ),
    )
    launch_plan = remote.fetch_launch_plan(name=workflow.id.name, version="v1")
    execution = remote.execute(
        launch_plan,
        inputs={"a": 1},
        execution_name="configured",
        options=Options(max_parallelism=5),
    )
    spec = remote.fetch_execution(name=execution.id.name).spec
    assert spec.max_parallelism == 5  # the request wins
    assert spec.security_context.run_as.k8s_service_account == "pd-sa"


def test_update_named_entity_through_the_flytekit_client(
    remote: FlyteRemote, settings: SerializationSettings
) -> None:
    workflow = remote.register_workflow(fe.pipeline, settings, version="v1")
    entity_id = NamedEntityIdentifier(PROJECT, DOMAIN, workflow.id.name)
    remote.client.update_named_entity(
        ResourceType.WORKFLOW,
        entity_id,
        NamedEntityMetadata("the pipeline", NamedEntityState.ARCHIVED),
    )
    # flytekit's client has no get/list for named entities: read back with the raw stub
    fetched = remote.client._stub.GetNamedEntity(
        NamedEntityGetRequest(resource_type=ResourceType.WORKFLOW, id=entity_id.to_flyte_idl()),
        metadata=remote.client._metadata,
    )
    assert fetched.metadata.description == "the pipeline"
    assert fetched.metadata.state == NamedEntityState.ARCHIVED


def test_get_execution_metrics_through_flyte_remote(
    admin: LocalAdmin, remote: FlyteRemote, settings: SerializationSettings
) -> None:
    workflow = remote.register_workflow(fe.pipeline, settings, version="v1")
    launch_plan = remote.fetch_launch_plan(name=workflow.id.name, version="v1")
    execution = remote.execute(launch_plan, inputs={"a": 1}, execution_name="timed")
    _finish(admin, remote, execution)
    span = remote.get_execution_metrics(WorkflowExecutionIdentifier(PROJECT, DOMAIN, "timed"))
    root = span.to_flyte_idl()
    assert root.workflow_id.name == "timed"
    assert {s.node_id.node_id for s in root.spans if s.WhichOneof("id") == "node_id"} == {
        "n0",
        "n1",
    }
    shallow = remote.get_execution_metrics(
        WorkflowExecutionIdentifier(PROJECT, DOMAIN, "timed"), depth=0
    )
    assert list(shallow.to_flyte_idl().spans) == []
