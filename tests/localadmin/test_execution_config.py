"""Where a new execution's settings come from (flyteadmin execution_manager.go
getExecutionConfig, util/shared.go MergeIntoExecConfig; ADMIN-SEMANTICS.md, Executions).

Per field: the request, then the launch plan, then the matchable WORKFLOW_EXECUTION_CONFIG
(workflow, project-domain, project), then the server defaults; an empty value never wins and maps
are replaced, not merged. That resolution is what the workflow CRD gets, read here through
``Executions.resolved_spec``. The stored spec (GetExecution) is the request's, with only
max parallelism and the security context resolved into it (launchExecution,
transformers/execution.go CreateExecutionModel).
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
    project_pb2,
)
from flyteidl.core import artifact_id_pb2, literals_pb2, security_pb2
from flyteidl.core.execution_pb2 import WorkflowExecution
from flyteidl.service import admin_pb2_grpc
from google.protobuf import wrappers_pb2

from reconciler.localadmin import LocalAdmin, ManualClock
from tests.localadmin import builders as b
from tests.localadmin.conftest import execution_id, get_execution, list_request, register_basics
from tests.localadmin.test_attributes import set_project, set_project_domain, set_workflow

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

WorkflowExecutionConfig = matchable_resource_pb2.WorkflowExecutionConfig
Phase = WorkflowExecution.Phase

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
    """Which level a spec's value of ``field`` came from."""
    if field in ("labels", "annotations"):
        return getattr(spec, field).values.get("level")
    if field == "envs":
        return next((kv.value for kv in spec.envs.values if kv.key == "LEVEL"), None)
    if field == "raw_output_data_config":
        return spec.raw_output_data_config.output_location_prefix.removeprefix("s3://") or None
    if field == "security_context":
        return spec.security_context.run_as.k8s_service_account.removeprefix("sa-") or None
    if field == "max_parallelism":
        return LEVELS[spec.max_parallelism - 1] if spec.max_parallelism else None
    raise AssertionError(field)


def resolved(admin: LocalAdmin, name: str) -> execution_pb2.ExecutionSpec:
    """The settings the execution runs with (what Admin hands the workflow CRD)."""
    return admin.executions.resolved_spec(execution_id(name))


FIELDS = (
    "labels",
    "annotations",
    "envs",
    "raw_output_data_config",
    "security_context",
    "max_parallelism",
)
# the fields launchExecution resolves into the stored spec; the others stay as the request sent
STORED_RESOLVED = ("security_context", "max_parallelism")


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
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub, field: str
) -> None:
    register_basics(stub)
    setters = _level_setters(stub, field)
    launch_plan = b.lp_spec(defaults={"a": b.int_literal(1)})
    _put(launch_plan, field, "launch-plan")
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(id=b.lp_id(version="set"), spec=launch_plan)
    )
    seen = []
    stored = []
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
        seen.append(_read(resolved(admin, f"e-{level}"), field))
        stored.append(_read(get_execution(stub, f"e-{level}").spec, field))
    assert seen == list(LEVELS)
    if field in STORED_RESOLVED:
        assert stored == list(LEVELS)
    else:
        # only what the request itself sets is in the stored spec
        assert stored == [None] * (len(LEVELS) - 1) + ["request"]


def test_interruptible_and_overwrite_cache_come_from_the_first_level_that_sets_them(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
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
    spec = resolved(admin, "from-project")
    assert spec.interruptible.value is True
    assert spec.overwrite_cache is True
    launch_plan = b.lp_spec(defaults={"a": b.int_literal(1)})
    launch_plan.interruptible.value = False
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(id=b.lp_id(version="v2"), spec=launch_plan)
    )
    stub.CreateExecution(b.execution_request("from-lp", b.lp_id(version="v2")))
    spec = resolved(admin, "from-lp")
    assert spec.HasField("interruptible")
    assert spec.interruptible.value is False
    # overwrite_cache is a plain bool: false means "not set", so the project's true still wins
    assert spec.overwrite_cache is True
    # neither is resolved into the stored spec
    for name in ("from-project", "from-lp"):
        stored = get_execution(stub, name).spec
        assert not stored.HasField("interruptible")
        assert stored.overwrite_cache is False


def test_maps_are_replaced_not_merged(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
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
    assert dict(resolved(admin, "own").labels.values) == {"owner": "ada"}
    stub.CreateExecution(b.execution_request("inherit"))
    assert dict(resolved(admin, "inherit").labels.values) == {"team": "data", "tier": "gold"}
    assert dict(get_execution(stub, "inherit").spec.labels.values) == {}


def test_empty_values_do_not_win(admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub) -> None:
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
    spec = resolved(admin, "empty")
    assert spec.security_context.run_as.k8s_service_account == "from-domain"
    assert dict(spec.labels.values) == {"from": "domain"}
    stored = get_execution(stub, "empty").spec
    assert stored.security_context.run_as.k8s_service_account == "from-domain"
    assert dict(stored.labels.values) == {}


def test_a_workflow_row_hides_the_project_domain_row_but_not_the_project_row(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
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
    before = resolved(admin, "before")
    assert (before.max_parallelism, dict(before.annotations.values)) == (7, {"from": "domain"})
    set_workflow(
        stub,
        matchable_resource_pb2.MatchingAttributes(
            workflow_execution_config=WorkflowExecutionConfig(max_parallelism=2)
        ),
    )
    stub.CreateExecution(b.execution_request("after"))
    after = resolved(admin, "after")
    assert after.max_parallelism == 2
    assert get_execution(stub, "after").spec.max_parallelism == 2
    # the project-domain row is not consulted any more: annotations fall through to the server
    assert dict(after.annotations.values) == {"level": "server"}
    assert dict(after.labels.values) == {"from": "project"}


def test_workflow_rows_match_the_launch_plans_workflow_but_not_a_single_task(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    register_basics(stub)
    only_other = matchable_resource_pb2.MatchingAttributes(
        workflow_execution_config=WorkflowExecutionConfig(max_parallelism=9)
    )
    set_workflow(stub, only_other, workflow="another-workflow")
    stub.CreateExecution(b.execution_request("lp-run"))
    assert resolved(admin, "lp-run").max_parallelism == 1  # this module's server default
    set_workflow(
        stub,
        matchable_resource_pb2.MatchingAttributes(
            workflow_execution_config=WorkflowExecutionConfig(max_parallelism=3)
        ),
        workflow="wf",
    )
    stub.CreateExecution(b.execution_request("lp-run-2"))
    assert resolved(admin, "lp-run-2").max_parallelism == 3
    # launchSingleTaskExecution resolves without a launch plan, so without a workflow name:
    # neither a row for the generated workflow .flytegen.<task> nor one for the task applies
    for workflow in (".flytegen.t", "t"):
        set_workflow(
            stub,
            matchable_resource_pb2.MatchingAttributes(
                workflow_execution_config=WorkflowExecutionConfig(max_parallelism=4)
            ),
            workflow=workflow,
        )
    set_project_domain(
        stub,
        matchable_resource_pb2.MatchingAttributes(
            workflow_execution_config=WorkflowExecutionConfig(max_parallelism=6)
        ),
    )
    stub.CreateExecution(
        b.execution_request("task-run", b.task_id(), inputs=b.literal_map(a=b.int_literal(1)))
    )
    assert resolved(admin, "task-run").max_parallelism == 6
    stored = get_execution(stub, "task-run").spec
    # and it does not write max parallelism into the stored spec; the security context it does
    assert stored.max_parallelism == 0
    assert stored.security_context.run_as.k8s_service_account == "sa-server"


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
    # the security context is resolved into the stored spec; the auth role is not copied
    assert not spec.HasField("auth_role")
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


def _launch_plan_with_every_setting() -> launch_plan_pb2.LaunchPlanSpec:
    launch_plan = b.lp_spec(defaults={"a": b.int_literal(1)}, labels={"from": "lp"})
    for field in ("annotations", "envs", "raw_output_data_config", "security_context"):
        _put(launch_plan, field, "launch-plan")
    launch_plan.max_parallelism = 5
    launch_plan.interruptible.value = True
    launch_plan.overwrite_cache = True
    launch_plan.entity_metadata.notifications.append(
        common_pb2.Notification(
            phases=[Phase.FAILED], email=common_pb2.EmailNotification(recipients_email=["a@b.c"])
        )
    )
    return launch_plan


def test_the_stored_spec_is_the_request_with_only_admins_own_writes(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    # launchExecution + transformers/execution.go CreateExecutionModel: principal, system
    # metadata, max parallelism and security context; nothing else of the resolution
    register_basics(stub)
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(
            id=b.lp_id(version="all"), spec=_launch_plan_with_every_setting()
        )
    )
    request = b.execution_request("exact", b.lp_id(version="all"), labels={"from": "request"})
    request.spec.tags.append("t1")
    request.spec.metadata.artifact_ids.add(artifact_key=artifact_id_pb2.ArtifactKey(name="x"))
    stub.CreateExecution(request)
    expected = execution_pb2.ExecutionSpec()
    expected.CopyFrom(request.spec)
    expected.metadata.principal = ""  # no token: no user (getUser)
    expected.metadata.ClearField("artifact_ids")
    expected.metadata.system_metadata.CopyFrom(
        execution_pb2.SystemMetadata(
            execution_cluster="localadmin", namespace=f"{b.PROJECT}-{b.DOMAIN}"
        )
    )
    expected.max_parallelism = 5
    expected.security_context.run_as.k8s_service_account = "sa-launch-plan"
    execution = get_execution(stub, "exact")
    assert execution.spec == expected
    listed = stub.ListExecutions(list_request())
    assert [e.spec for e in listed.executions] == [expected]
    # the launch plan's notifications go to the closure, not the spec
    assert [n.email.recipients_email for n in execution.closure.notifications] == [["a@b.c"]]
    assert not execution.spec.HasField("notifications")
    # while the run itself gets everything resolved
    spec = resolved(admin, "exact")
    assert dict(spec.labels.values) == {"from": "request"}
    assert {field: _read(spec, field) for field in FIELDS if field != "labels"} == {
        "annotations": "launch-plan",
        "envs": "launch-plan",
        "raw_output_data_config": "launch-plan",
        "security_context": "launch-plan",
        "max_parallelism": "launch-plan",
    }
    assert (spec.interruptible.value, spec.overwrite_cache) == (True, True)


def test_request_notifications_or_disable_all_replace_the_launch_plans(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    register_basics(stub)
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(
            id=b.lp_id(version="all"), spec=_launch_plan_with_every_setting()
        )
    )
    own = b.execution_request("own", b.lp_id(version="all"))
    own.spec.notifications.notifications.add(
        phases=[Phase.SUCCEEDED], slack=common_pb2.SlackNotification(recipients_email=["s@b.c"])
    )
    stub.CreateExecution(own)
    quiet = b.execution_request("quiet", b.lp_id(version="all"))
    quiet.spec.disable_all = True
    stub.CreateExecution(quiet)
    closure = get_execution(stub, "own").closure
    assert [n.slack.recipients_email for n in closure.notifications] == [["s@b.c"]]
    assert list(get_execution(stub, "quiet").closure.notifications) == []
    # the request's own notifications are kept in the stored spec as sent
    assert get_execution(stub, "own").spec.notifications == own.spec.notifications


def test_a_relaunch_copies_the_stored_spec_and_resolves_again(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    register_basics(stub)
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(
            id=b.lp_id(version="all"), spec=_launch_plan_with_every_setting()
        )
    )
    stub.CreateExecution(b.execution_request("orig", b.lp_id(version="all")))
    stub.RelaunchExecution(
        execution_pb2.ExecutionRelaunchRequest(id=execution_id("orig"), name="again")
    )
    again = get_execution(stub, "again").spec
    assert dict(again.labels.values) == {}
    assert not again.HasField("annotations")
    assert dict(resolved(admin, "again").labels.values) == {"from": "lp"}
    assert _read(resolved(admin, "again"), "envs") == "launch-plan"


def test_project_labels_reach_the_run_but_not_the_stored_spec(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub
) -> None:
    # addProjectLabels: the project's labels for keys the resolved labels lack
    register_basics(stub)
    stub.UpdateProject(
        project_pb2.Project(
            id=b.PROJECT,
            name=b.PROJECT,
            labels=common_pb2.Labels(values={"cost-center": "42", "level": "project"}),
        )
    )
    stub.CreateExecution(b.execution_request("labelled", labels={"level": "request"}))
    assert dict(resolved(admin, "labelled").labels.values) == {
        "level": "request",
        "cost-center": "42",
    }
    assert dict(get_execution(stub, "labelled").spec.labels.values) == {"level": "request"}


def test_execution_tag_filters_match_the_requests_labels_only(
    stub: admin_pb2_grpc.AdminServiceStub,
) -> None:
    # CreateExecutionTagModel tags the request's labels; a single task gets no tags at all
    register_basics(stub, b.lp_spec(defaults={"a": b.int_literal(1)}, labels={"from": "lp"}))
    stub.CreateExecution(b.execution_request("inherits"))
    stub.CreateExecution(b.execution_request("own", labels={"from": "request"}))
    task_run = b.execution_request("task", b.task_id(), inputs=b.literal_map(a=b.int_literal(1)))
    task_run.spec.labels.values["from"] = "request"
    stub.CreateExecution(task_run)
    listed = stub.ListExecutions(list_request(filters="eq(execution_tag.key,from)"))
    assert [e.id.name for e in listed.executions] == ["own"]
