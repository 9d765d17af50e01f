"""Where a new execution's settings come from (flyteadmin execution_manager.go
getExecutionConfig, util/shared.go MergeIntoExecConfig; ADMIN-SEMANTICS.md, Executions).

Per field: the request, then the launch plan, then the matchable WORKFLOW_EXECUTION_CONFIG
(workflow, project-domain, project), then the server defaults; an empty value never wins and maps
are replaced, not merged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from flyteidl.admin import (
    common_pb2,
    execution_pb2,
    launch_plan_pb2,
    matchable_resource_pb2,
)
from flyteidl.core import literals_pb2, security_pb2
from flyteidl.service import admin_pb2_grpc
from google.protobuf import wrappers_pb2

from reconciler.localadmin import LocalAdmin, ManualClock
from tests.localadmin import builders as b
from tests.localadmin.conftest import get_execution, register_basics
from tests.localadmin.test_attributes import set_project, set_project_domain, set_workflow

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

WorkflowExecutionConfig = matchable_resource_pb2.WorkflowExecutionConfig

# lowest first; each is also a valid Kubernetes label value
LEVELS = ("server", "project", "project-domain", "workflow", "launch-plan", "request")


def _put(message: Any, field: str, level: str) -> None:
    """Set ``field`` of an ExecutionSpec, LaunchPlanSpec or WorkflowExecutionConfig (they share
    the field names and types) to the value that names ``level``."""
    rank = LEVELS.index(level) + 1
    if field in ("labels", "annotations"):
        getattr(message, field).values["level"] = level
    elif field == "envs":
        message.envs.values.append(literals_pb2.KeyValuePair(key="LEVEL", value=level))
    elif field == "raw_output_data_config":
        message.raw_output_data_config.output_location_prefix = f"s3://{level}"
    elif field == "security_context":
        message.security_context.run_as.k8s_service_account = f"sa-{level}"
    elif field == "max_parallelism":
        message.max_parallelism = rank
    else:
        raise AssertionError(field)


def _read(spec: execution_pb2.ExecutionSpec, field: str) -> str | None:
    """Which level the stored spec's value of ``field`` came from."""
    if field in ("labels", "annotations"):
        return getattr(spec, field).values.get("level")
    if field == "envs":
        return next((kv.value for kv in spec.envs.values if kv.key == "LEVEL"), None)
    if field == "raw_output_data_config":
        return spec.raw_output_data_config.output_location_prefix.removeprefix("s3://") or None
    if field == "security_context":
        return spec.security_context.run_as.k8s_service_account.removeprefix("sa-") or None
    if field == "max_parallelism":
        return LEVELS[spec.max_parallelism - 1]
    raise AssertionError(field)


FIELDS = (
    "labels",
    "annotations",
    "envs",
    "raw_output_data_config",
    "security_context",
    "max_parallelism",
)


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[LocalAdmin]:
    """Server defaults that set every field, so that the server level can win too."""
    defaults = WorkflowExecutionConfig()
    for field in FIELDS:
        _put(defaults, field, "server")
    with LocalAdmin(
        clock=ManualClock(), data_dir=tmp_path / "data", execution_defaults=defaults
    ) as running:
        yield running


def _level_setters(
    stub: admin_pb2_grpc.AdminServiceStub, field: str
) -> dict[str, Callable[[], None]]:
    def config(level: str) -> matchable_resource_pb2.MatchingAttributes:
        value = WorkflowExecutionConfig()
        _put(value, field, level)
        return matchable_resource_pb2.MatchingAttributes(workflow_execution_config=value)

    return {
        "project": lambda: set_project(stub, config("project")),
        "project-domain": lambda: set_project_domain(stub, config("project-domain")),
        "workflow": lambda: set_workflow(stub, config("workflow")),
    }


@pytest.mark.parametrize("field", FIELDS)
def test_each_level_wins_over_the_levels_below_it(
    stub: admin_pb2_grpc.AdminServiceStub, field: str
) -> None:
    register_basics(stub)
    setters = _level_setters(stub, field)
    launch_plan = b.lp_spec(defaults={"a": b.int_literal(1)})
    _put(launch_plan, field, "launch-plan")
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(id=b.lp_id(version="set"), spec=launch_plan)
    )
    seen = []
    # add one level at a time, lowest first: each new level must take over
    for level in LEVELS:
        if level in setters:
            setters[level]()
        request = b.execution_request(
            f"e-{level}", b.lp_id(version="set" if level in ("launch-plan", "request") else "v1")
        )
        if level == "request":
            _put(request.spec, field, "request")
        stub.CreateExecution(request)
        seen.append(_read(get_execution(stub, f"e-{level}").spec, field))
    assert seen == list(LEVELS)


def test_interruptible_and_overwrite_cache_come_from_the_first_level_that_sets_them(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub)
    # interruptible is a BoolValue: an explicit false at a higher level wins over a lower true
    set_project(
        stub,
        matchable_resource_pb2.MatchingAttributes(
            workflow_execution_config=WorkflowExecutionConfig(
                interruptible=wrappers_pb2.BoolValue(value=True), overwrite_cache=True
            )
        ),
    )
    stub.CreateExecution(b.execution_request("from-project"))
    spec = get_execution(stub, "from-project").spec
    assert spec.interruptible.value is True
    assert spec.overwrite_cache is True
    launch_plan = b.lp_spec(defaults={"a": b.int_literal(1)})
    launch_plan.interruptible.value = False
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(id=b.lp_id(version="v2"), spec=launch_plan)
    )
    stub.CreateExecution(b.execution_request("from-lp", b.lp_id(version="v2")))
    spec = get_execution(stub, "from-lp").spec
    assert spec.HasField("interruptible")
    assert spec.interruptible.value is False
    # overwrite_cache is a plain bool: false means "not set", so the project's true still wins
    assert spec.overwrite_cache is True


def test_maps_are_replaced_not_merged(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    register_basics(stub)
    set_project(
        stub,
        matchable_resource_pb2.MatchingAttributes(
            workflow_execution_config=WorkflowExecutionConfig(
                labels=common_pb2.Labels(values={"team": "data", "tier": "gold"})
            )
        ),
    )
    stub.CreateExecution(b.execution_request("own", labels={"owner": "ada"}))
    assert dict(get_execution(stub, "own").spec.labels.values) == {"owner": "ada"}
    stub.CreateExecution(b.execution_request("inherit"))
    assert dict(get_execution(stub, "inherit").spec.labels.values) == {
        "team": "data",
        "tier": "gold",
    }


def test_empty_values_do_not_win(stub: admin_pb2_grpc.AdminServiceStub) -> None:
    register_basics(stub)
    set_project_domain(
        stub,
        matchable_resource_pb2.MatchingAttributes(
            workflow_execution_config=WorkflowExecutionConfig(
                security_context=security_pb2.SecurityContext(
                    run_as=security_pb2.Identity(k8s_service_account="from-domain")
                ),
                labels=common_pb2.Labels(values={"from": "domain"}),
            )
        ),
    )
    request = b.execution_request("empty")
    # set but empty, as a UI sends them: Admin checks deeply (MergeIntoExecConfig)
    request.spec.security_context.run_as.SetInParent()
    request.spec.labels.SetInParent()
    stub.CreateExecution(request)
    spec = get_execution(stub, "empty").spec
    assert spec.security_context.run_as.k8s_service_account == "from-domain"
    assert dict(spec.labels.values) == {"from": "domain"}


def test_a_workflow_row_hides_the_project_domain_row_but_not_the_project_row(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    # getExecutionConfig merges the most specific row, then the project row (FLYTE-2322)
    register_basics(stub)
    set_project(
        stub,
        matchable_resource_pb2.MatchingAttributes(
            workflow_execution_config=WorkflowExecutionConfig(
                labels=common_pb2.Labels(values={"from": "project"})
            )
        ),
    )
    set_project_domain(
        stub,
        matchable_resource_pb2.MatchingAttributes(
            workflow_execution_config=WorkflowExecutionConfig(
                annotations=common_pb2.Annotations(values={"from": "domain"}), max_parallelism=7
            )
        ),
    )
    stub.CreateExecution(b.execution_request("before"))
    before = get_execution(stub, "before").spec
    assert (before.max_parallelism, dict(before.annotations.values)) == (7, {"from": "domain"})
    set_workflow(
        stub,
        matchable_resource_pb2.MatchingAttributes(
            workflow_execution_config=WorkflowExecutionConfig(max_parallelism=2)
        ),
    )
    stub.CreateExecution(b.execution_request("after"))
    after = get_execution(stub, "after").spec
    assert after.max_parallelism == 2
    # the project-domain row is not consulted any more: annotations fall through to the server
    assert dict(after.annotations.values) == {"level": "server"}
    assert dict(after.labels.values) == {"from": "project"}


def test_workflow_attributes_match_by_workflow_name(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub)
    only_other = matchable_resource_pb2.MatchingAttributes(
        workflow_execution_config=WorkflowExecutionConfig(max_parallelism=9)
    )
    set_workflow(stub, only_other, workflow="another-workflow")
    # a single-task execution runs Admin's generated workflow .flytegen.<task>
    set_workflow(
        stub,
        matchable_resource_pb2.MatchingAttributes(
            workflow_execution_config=WorkflowExecutionConfig(max_parallelism=4)
        ),
        workflow=".flytegen.t",
    )
    stub.CreateExecution(b.execution_request("lp-run"))
    assert get_execution(stub, "lp-run").spec.max_parallelism == 1  # this module's server default
    stub.CreateExecution(
        b.execution_request("task-run", b.task_id(), inputs=b.literal_map(a=b.int_literal(1)))
    )
    assert get_execution(stub, "task-run").spec.max_parallelism == 4


def test_deprecated_auth_roles_rank_below_matchable_attributes(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub)
    launch_plan = b.lp_spec(defaults={"a": b.int_literal(1)})
    launch_plan.auth_role.kubernetes_service_account = "from-auth-role"
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(id=b.lp_id(version="role"), spec=launch_plan)
    )
    stub.CreateExecution(b.execution_request("role", b.lp_id(version="role")))
    spec = get_execution(stub, "role").spec
    assert spec.security_context.run_as.k8s_service_account == "from-auth-role"
    set_project(
        stub,
        matchable_resource_pb2.MatchingAttributes(
            workflow_execution_config=WorkflowExecutionConfig(
                security_context=security_pb2.SecurityContext(
                    run_as=security_pb2.Identity(k8s_service_account="from-project")
                )
            )
        ),
    )
    stub.CreateExecution(b.execution_request("matched", b.lp_id(version="role")))
    spec = get_execution(stub, "matched").spec
    assert spec.security_context.run_as.k8s_service_account == "from-project"


def test_without_settings_the_spec_gets_admins_defaults(tmp_path: Path) -> None:
    with (
        LocalAdmin(clock=ManualClock(), data_dir=tmp_path / "d") as admin,
        grpc.insecure_channel(admin.endpoint) as channel,
    ):
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        register_basics(stub)
        stub.CreateExecution(b.execution_request("plain"))
        spec = get_execution(stub, "plain").spec
    # Admin's default maxParallelism, and always a security context (empty run_as)
    assert spec.max_parallelism == 25
    assert spec.HasField("security_context")
    assert spec.security_context.run_as == security_pb2.Identity()
    assert not spec.HasField("interruptible")
    assert not spec.HasField("raw_output_data_config")
