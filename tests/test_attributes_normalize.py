"""The Attributes normalizer: git's value and Admin's answer reach the same manifest-shaped view,
and an answer from another level than the one asked for counts as nothing there."""

from __future__ import annotations

from flyteidl.admin import matchable_resource_pb2

from reconciler.kinds import attributes
from reconciler.manifests.attributes import AttributesSpec
from reconciler.read import Actual

SPEC = AttributesSpec.model_validate(
    {
        "taskResources": {"defaults": {"cpu": 1, "memory": "1Gi"}, "limits": {"gpu": "2"}},
        "clusterResources": {"attributes": {"projectQuotaCpu": "16"}},
        "executionQueue": {"tags": ["gpu", "a100"]},
        "executionClusterLabel": "gpu-pool",
        "pluginOverrides": [
            {"taskType": "spark", "pluginId": ["spark-on-k8s"]},
            {"taskType": "ray", "pluginId": ["kuberay"], "missingPluginBehavior": "useDefault"},
        ],
        "workflowExecutionConfig": {
            "maxParallelism": 20,
            "securityContext": {"serviceAccount": "etl"},
            "rawOutputDataPrefix": "s3://b/raw",
            "labels": {},
            "interruptible": False,
            "envs": {"MODE": "batch"},
        },
        "clusterAssignment": {"clusterPoolName": "default"},
    }
)


def _view(name: str) -> object:
    kind = next(t for t in attributes.TYPES if t.field == name)
    return attributes.view(kind, attributes.to_matching(kind, getattr(SPEC, kind.attr)))


def test_every_type_round_trips_to_its_manifest_shape() -> None:
    assert _view("taskResources") == {
        "defaults": {"cpu": "1", "memory": "1Gi"},
        "limits": {"gpu": "2"},
    }
    assert _view("clusterResources") == {"attributes": {"projectQuotaCpu": "16"}}
    assert _view("executionQueue") == {"tags": ["gpu", "a100"]}
    assert _view("executionClusterLabel") == "gpu-pool"
    # Admin keeps overrides in no particular order: both sides are sorted by task type
    assert _view("pluginOverrides") == [
        {"taskType": "ray", "pluginId": ["kuberay"], "missingPluginBehavior": "useDefault"},
        {"taskType": "spark", "pluginId": ["spark-on-k8s"], "missingPluginBehavior": "fail"},
    ]
    # empty maps are left out; an explicit interruptible: false is kept (it overrides)
    assert _view("workflowExecutionConfig") == {
        "maxParallelism": 20,
        "securityContext": {"serviceAccount": "etl"},
        "rawOutputDataPrefix": "s3://b/raw",
        "interruptible": False,
        "envs": {"MODE": "batch"},
    }
    assert _view("clusterAssignment") == {"clusterPoolName": "default"}


def test_a_get_answered_from_the_project_row_is_nothing_at_project_domain_level() -> None:
    queue = next(t for t in attributes.TYPES if t.name == "EXECUTION_QUEUE")
    matching = matchable_resource_pb2.MatchingAttributes(
        execution_queue_attributes=matchable_resource_pb2.ExecutionQueueAttributes(tags=["x"])
    )
    actual = Actual()
    key = ("acme", "production", "", "EXECUTION_QUEUE")
    actual.attributes[key] = matchable_resource_pb2.MatchableAttributesConfiguration(
        project="acme", domain="", attributes=matching
    )
    assert attributes.stored(actual, ("acme", "production", ""), queue) is None
    actual.attributes[key] = matchable_resource_pb2.MatchableAttributesConfiguration(
        project="acme", domain="production", attributes=matching
    )
    assert attributes.stored(actual, ("acme", "production", ""), queue) == matching


def test_listed_rows_are_matched_at_their_exact_level() -> None:
    config = next(t for t in attributes.TYPES if t.name == "WORKFLOW_EXECUTION_CONFIG")
    row = matchable_resource_pb2.MatchableAttributesConfiguration(
        project="acme", domain="production", workflow="wf"
    )
    actual = Actual(attribute_rows={"WORKFLOW_EXECUTION_CONFIG": [row]})
    assert attributes.stored(actual, ("acme", "", ""), config) is None
    assert attributes.stored(actual, ("acme", "production", "wf"), config) == row.attributes
