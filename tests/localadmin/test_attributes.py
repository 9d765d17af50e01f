"""Matchable attributes (flyteadmin manager/impl/resources/resource_manager.go,
validation/attributes_validator.go, repositories/gormimpl/resource_repo.go)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from flyteidl.admin import (
    matchable_resource_pb2,
    project_attributes_pb2,
    project_domain_attributes_pb2,
    project_pb2,
    workflow_attributes_pb2,
)
from flyteidl.core import execution_pb2 as core_exec_pb2
from flyteidl.service import admin_pb2_grpc

from tests.localadmin import builders as b
from tests.localadmin.conftest import rpc_error

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

MR = matchable_resource_pb2.MatchableResource
WEC = MR.WORKFLOW_EXECUTION_CONFIG
QUEUE = MR.EXECUTION_QUEUE


def queue(*tags: str) -> matchable_resource_pb2.MatchingAttributes:
    return matchable_resource_pb2.MatchingAttributes(
        execution_queue_attributes=matchable_resource_pb2.ExecutionQueueAttributes(tags=list(tags))
    )


def wec(**fields: Any) -> matchable_resource_pb2.MatchingAttributes:
    config = matchable_resource_pb2.WorkflowExecutionConfig(**fields)
    return matchable_resource_pb2.MatchingAttributes(workflow_execution_config=config)


def set_project(
    stub: admin_pb2_grpc.AdminServiceStub,
    attributes: matchable_resource_pb2.MatchingAttributes,
    project: str = b.PROJECT,
) -> None:
    stub.UpdateProjectAttributes(
        project_attributes_pb2.ProjectAttributesUpdateRequest(
            attributes=project_attributes_pb2.ProjectAttributes(
                project=project, matching_attributes=attributes
            )
        )
    )


def set_project_domain(
    stub: admin_pb2_grpc.AdminServiceStub,
    attributes: matchable_resource_pb2.MatchingAttributes,
    domain: str = b.DOMAIN,
) -> None:
    stub.UpdateProjectDomainAttributes(
        project_domain_attributes_pb2.ProjectDomainAttributesUpdateRequest(
            attributes=project_domain_attributes_pb2.ProjectDomainAttributes(
                project=b.PROJECT, domain=domain, matching_attributes=attributes
            )
        )
    )


def set_workflow(
    stub: admin_pb2_grpc.AdminServiceStub,
    attributes: matchable_resource_pb2.MatchingAttributes,
    workflow: str = "wf",
) -> None:
    stub.UpdateWorkflowAttributes(
        workflow_attributes_pb2.WorkflowAttributesUpdateRequest(
            attributes=workflow_attributes_pb2.WorkflowAttributes(
                project=b.PROJECT,
                domain=b.DOMAIN,
                workflow=workflow,
                matching_attributes=attributes,
            )
        )
    )


def get_project(
    stub: admin_pb2_grpc.AdminServiceStub, kind: int = QUEUE
) -> project_attributes_pb2.ProjectAttributes:
    return stub.GetProjectAttributes(
        project_attributes_pb2.ProjectAttributesGetRequest(project=b.PROJECT, resource_type=kind)
    ).attributes


def get_project_domain(
    stub: admin_pb2_grpc.AdminServiceStub, kind: int = QUEUE
) -> project_domain_attributes_pb2.ProjectDomainAttributes:
    return stub.GetProjectDomainAttributes(
        project_domain_attributes_pb2.ProjectDomainAttributesGetRequest(
            project=b.PROJECT, domain=b.DOMAIN, resource_type=kind
        )
    ).attributes


def get_workflow(
    stub: admin_pb2_grpc.AdminServiceStub, workflow: str = "wf", kind: int = QUEUE
) -> workflow_attributes_pb2.WorkflowAttributes:
    return stub.GetWorkflowAttributes(
        workflow_attributes_pb2.WorkflowAttributesGetRequest(
            project=b.PROJECT, domain=b.DOMAIN, workflow=workflow, resource_type=kind
        )
    ).attributes


def test_each_level_reads_back_what_was_stored(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    set_project(stub, queue("p"))
    set_project_domain(stub, queue("pd"))
    set_workflow(stub, queue("w"))
    assert list(get_project(stub).matching_attributes.execution_queue_attributes.tags) == ["p"]
    found = get_project_domain(stub)
    assert (found.project, found.domain) == (b.PROJECT, b.DOMAIN)
    assert list(found.matching_attributes.execution_queue_attributes.tags) == ["pd"]
    workflow = get_workflow(stub)
    assert workflow.workflow == "wf"
    assert list(workflow.matching_attributes.execution_queue_attributes.tags) == ["w"]


def test_an_update_replaces_the_attributes_of_its_level(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    set_project_domain(stub, queue("a", "b"))
    set_project_domain(stub, queue("c"))
    assert list(get_project_domain(stub).matching_attributes.execution_queue_attributes.tags) == [
        "c"
    ]


def test_nothing_stored_is_not_found(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    for call in (
        lambda: get_project(stub),
        lambda: get_project_domain(stub),
        lambda: get_workflow(stub),
    ):
        error = rpc_error(call)
        assert error.code() == grpc.StatusCode.NOT_FOUND
        assert "not found" in (error.details() or "")


def test_a_get_falls_back_to_the_most_specific_level_above(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    # resource_repo.go Get: the most specific row at or above the level asked for
    set_project(stub, queue("p"))
    from_project = get_project_domain(stub)
    assert (from_project.project, from_project.domain) == (b.PROJECT, "")
    assert list(from_project.matching_attributes.execution_queue_attributes.tags) == ["p"]
    set_project_domain(stub, queue("pd"))
    from_domain = get_workflow(stub, "never-registered")
    assert (from_domain.domain, from_domain.workflow) == (b.DOMAIN, "")
    assert list(from_domain.matching_attributes.execution_queue_attributes.tags) == ["pd"]
    # a project-domain get never looks at workflow rows
    set_workflow(stub, queue("w"))
    assert list(get_project_domain(stub).matching_attributes.execution_queue_attributes.tags) == [
        "pd"
    ]


def test_project_workflow_execution_config_comes_with_server_defaults(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    # resource_manager.go GetProjectAttributes: no NOT_FOUND for WORKFLOW_EXECUTION_CONFIG
    nothing_stored = get_project(stub, WEC).matching_attributes.workflow_execution_config
    assert nothing_stored.max_parallelism == 25
    set_project(stub, wec(overwrite_cache=True))
    stored = get_project(stub, WEC).matching_attributes.workflow_execution_config
    assert (stored.overwrite_cache, stored.max_parallelism) == (True, 25)
    set_project(stub, wec(max_parallelism=3))
    assert get_project(stub, WEC).matching_attributes.workflow_execution_config.max_parallelism == 3
    # the other levels return exactly what is stored
    assert get_project_domain(stub, WEC).matching_attributes.workflow_execution_config == (
        matchable_resource_pb2.WorkflowExecutionConfig(max_parallelism=3)
    )


def test_deleting_a_level_deletes_the_more_specific_rows_below_it(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    # resource_repo.go Delete uses gorm struct conditions: empty key fields are no condition
    set_project(stub, queue("p"))
    set_project_domain(stub, queue("pd"))
    set_workflow(stub, queue("w"))
    stub.DeleteWorkflowAttributes(
        workflow_attributes_pb2.WorkflowAttributesDeleteRequest(
            project=b.PROJECT, domain=b.DOMAIN, workflow="wf", resource_type=QUEUE
        )
    )
    assert list(get_workflow(stub).matching_attributes.execution_queue_attributes.tags) == ["pd"]
    set_workflow(stub, queue("w"))
    stub.DeleteProjectAttributes(
        project_attributes_pb2.ProjectAttributesDeleteRequest(
            project=b.PROJECT, resource_type=QUEUE
        )
    )
    assert rpc_error(lambda: get_workflow(stub)).code() == grpc.StatusCode.NOT_FOUND


def test_a_delete_keeps_other_resource_types_and_tolerates_absence(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    set_project_domain(stub, queue("pd"))
    set_project_domain(stub, wec(max_parallelism=4))
    request = project_domain_attributes_pb2.ProjectDomainAttributesDeleteRequest(
        project=b.PROJECT, domain=b.DOMAIN, resource_type=QUEUE
    )
    stub.DeleteProjectDomainAttributes(request)
    stub.DeleteProjectDomainAttributes(request)  # nothing left: still OK, as in Admin
    assert rpc_error(lambda: get_project_domain(stub)).code() == grpc.StatusCode.NOT_FOUND
    kept = get_project_domain(stub, WEC).matching_attributes.workflow_execution_config
    assert kept.max_parallelism == 4


def test_list_matchable_attributes_lists_one_type_most_specific_first(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    set_project(stub, queue("p"))
    set_workflow(stub, queue("w"))
    set_project_domain(stub, queue("pd"))
    set_project_domain(stub, wec(max_parallelism=2))
    listed = stub.ListMatchableAttributes(
        matchable_resource_pb2.ListMatchableAttributesRequest(resource_type=QUEUE)
    ).configurations
    assert [(c.project, c.domain, c.workflow) for c in listed] == [
        (b.PROJECT, b.DOMAIN, "wf"),
        (b.PROJECT, b.DOMAIN, ""),
        (b.PROJECT, "", ""),
    ]
    assert [list(c.attributes.execution_queue_attributes.tags) for c in listed] == [
        ["w"],
        ["pd"],
        ["p"],
    ]
    none = stub.ListMatchableAttributes(
        matchable_resource_pb2.ListMatchableAttributesRequest(resource_type=MR.CLUSTER_ASSIGNMENT)
    )
    assert list(none.configurations) == []


def test_plugin_overrides_are_merged_by_task_type(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    def overrides(**plugins: str) -> matchable_resource_pb2.MatchingAttributes:
        return matchable_resource_pb2.MatchingAttributes(
            plugin_overrides=matchable_resource_pb2.PluginOverrides(
                overrides=[
                    matchable_resource_pb2.PluginOverride(task_type=t, plugin_id=[p])
                    for t, p in plugins.items()
                ]
            )
        )

    set_project_domain(stub, overrides(spark="k8s", hive="qubole"))
    set_project_domain(stub, overrides(spark="emr"))
    found = get_project_domain(stub, MR.PLUGIN_OVERRIDE).matching_attributes.plugin_overrides
    assert {o.task_type: list(o.plugin_id) for o in found.overrides} == {
        "spark": ["emr"],
        "hive": ["qubole"],
    }


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            lambda stub: set_project(stub, queue("x"), project="nope"),
            "failed to validate that project [nope] is registered",
            id="update-unknown-project",
        ),
        pytest.param(
            lambda stub: set_project_domain(stub, queue("x"), domain="qa"),
            "domain [qa] is unrecognized by system",
            id="unknown-domain",
        ),
        pytest.param(
            lambda stub: set_workflow(stub, queue("x"), workflow=""),
            "missing name",
            id="workflow-without-name",
        ),
        pytest.param(
            lambda stub: set_project_domain(stub, matchable_resource_pb2.MatchingAttributes()),
            "Unrecognized matching attributes type for request flytesnacks-development",
            id="no-attributes-kind",
        ),
        pytest.param(
            lambda stub: set_project_domain(
                stub,
                matchable_resource_pb2.MatchingAttributes(
                    quality_of_service=core_exec_pb2.QualityOfService(tier=1)
                ),
            ),
            "Unrecognized matching attributes type",
            id="quality-of-service-is-not-recognized",
        ),
        pytest.param(
            lambda stub: stub.UpdateProjectDomainAttributes(
                project_domain_attributes_pb2.ProjectDomainAttributesUpdateRequest()
            ),
            "missing attributes",
            id="no-attributes",
        ),
        pytest.param(
            lambda stub: stub.GetProjectAttributes(
                project_attributes_pb2.ProjectAttributesGetRequest(project="nope")
            ),
            "failed to validate that project [nope] exists",
            id="get-unknown-project",
        ),
        pytest.param(
            lambda stub: stub.ListMatchableAttributes(
                matchable_resource_pb2.ListMatchableAttributesRequest(resource_type=99)
            ),
            "invalid value for resource_type",
            id="unknown-resource-type",
        ),
    ],
)
def test_invalid_requests_are_invalid_argument(
    stub: admin_pb2_grpc.AdminServiceStub,
    call: Callable[[admin_pb2_grpc.AdminServiceStub], object],
    message: str,
) -> None:
    error = rpc_error(lambda: call(stub))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (error.details() or "")


def test_archived_projects_can_be_read_but_not_changed(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    set_project(stub, queue("p"))
    stub.UpdateProject(
        project_pb2.Project(id=b.PROJECT, name=b.PROJECT, state=project_pb2.Project.ARCHIVED)
    )
    # ValidateProjectExists for gets, ValidateProjectForUpdate for updates and deletes
    assert list(get_project(stub).matching_attributes.execution_queue_attributes.tags) == ["p"]
    error = rpc_error(lambda: set_project(stub, queue("q")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "project [flytesnacks] is not active" in (error.details() or "")
    error = rpc_error(lambda: get_project_domain(stub))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
