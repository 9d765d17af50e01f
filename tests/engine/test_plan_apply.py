"""plan / apply / drift end to end: the CLI, over gRPC, against the local Admin."""

from __future__ import annotations

import json
from pathlib import Path

from flyteidl.admin import common_pb2, execution_pb2, launch_plan_pb2
from flyteidl.core import identifier_pb2

from reconciler.localadmin import LocalAdmin
from tests.engine.conftest import DOMAIN, PROJECT, settings
from tests.localadmin import builders as b

LAUNCH_PLAN = """\
apiVersion: reconciler/v1
kind: LaunchPlan
metadata: {{name: daily}}
spec:
  version: {version}
  workflow: {{name: wf, version: v1}}
  active: {active}
  schedule: {{cron: "0 6 * * *", kickoffTimeInputArg: run_date}}
  defaultInputs: {{a: 3}}
  labels: {{team: {team}}}
"""
EXECUTION = """\
apiVersion: reconciler/v1
kind: Execution
metadata: {{name: {name}}}
spec:
  launchPlan: {{name: daily}}
  inputs: {{run_date: 2026-11-30T00:00:00Z, region: {region}}}
  state: {state}
"""


def _tree(
    tmp_path: Path,
    *,
    version: str = "v1",
    active: str = "true",
    team: str = "analytics",
    executions: str = "",
) -> Path:
    root = settings(tmp_path / "manifests")
    (root / "lp.yaml").write_text(LAUNCH_PLAN.format(version=version, active=active, team=team))
    (root / "runs.yaml").write_text(executions)
    if not executions:
        (root / "runs.yaml").unlink()
    return root


def _run(run_cli, admin: LocalAdmin, *args: object):  # type: ignore[no-untyped-def]
    return run_cli(*args, "--endpoint", admin.endpoint, "--insecure")


def _plan_json(run_cli, admin: LocalAdmin, root: Path) -> dict:  # type: ignore[type-arg, no-untyped-def]
    result = _run(run_cli, admin, "plan", root, "-o", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def _by_address(plan: dict) -> dict:  # type: ignore[type-arg]
    return {c["address"]: c for c in plan["changes"]}


LP_ADDRESS = f"LaunchPlan/{PROJECT}/{DOMAIN}/daily"


def test_apply_then_plan_is_empty(run_cli, local_admin, registered, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path, executions=EXECUTION.format(name="run-1", region="us", state="launched"))
    first = _plan_json(run_cli, local_admin, root)
    actions = {a: c["action"] for a, c in _by_address(first).items()}
    assert actions == {LP_ADDRESS: "create", f"Execution/{PROJECT}/{DOMAIN}/run-1": "create"}
    applied = _run(run_cli, local_admin, "apply", root, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert "Apply: 2 done, 0 failed." in applied.out
    again = _run(run_cli, local_admin, "plan", root, "--detailed-exitcode")
    assert again.code == 0, again.out + again.err
    assert "No changes" in again.out


def test_plan_with_changes_exits_2_with_detailed_exitcode(
    run_cli, local_admin, registered, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path)
    assert _run(run_cli, local_admin, "plan", root, "--detailed-exitcode").code == 2


def test_launch_plan_is_created_active_with_the_manifest_spec(
    run_cli, local_admin, registered, stub, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path)
    assert _run(run_cli, local_admin, "apply", root, "--auto-approve").code == 0
    active = stub.GetActiveLaunchPlan(
        launch_plan_pb2.ActiveLaunchPlanRequest(
            id=common_pb2.NamedEntityIdentifier(project=PROJECT, domain=DOMAIN, name="daily")
        )
    )
    assert active.id.version == "v1"
    spec = active.spec
    assert spec.entity_metadata.schedule.cron_schedule.schedule == "0 6 * * *"
    assert spec.labels.values["team"] == "analytics"
    assert spec.annotations.values["reconciler.flyte.org/owner"] == "team-manifests"
    parameters = spec.default_inputs.parameters
    assert parameters["a"].default.scalar.primitive.integer == 3
    assert parameters["region"].default.scalar.primitive.string_value == "eu"  # the workflow's own
    assert parameters["run_date"].required


def test_changing_one_field_shows_exactly_that_change(
    run_cli, local_admin, registered, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path)
    assert _run(run_cli, local_admin, "apply", root, "--auto-approve").code == 0
    _tree(tmp_path, team="finance")  # same version, one label changed
    change = _by_address(_plan_json(run_cli, local_admin, root))[LP_ADDRESS]
    assert change["action"] == "conflict"
    assert change["diff"] == [
        {"path": "spec.labels.team", "before": "analytics", "after": "finance"}
    ]
    assert "bump spec.version or use version: auto" in change["reason"]
    refused = _run(run_cli, local_admin, "apply", root, "--auto-approve")
    assert refused.code == 1
    assert f"failed: {LP_ADDRESS}: refused:" in refused.out


def test_auto_version_creates_a_new_version_when_the_spec_changes(
    run_cli, local_admin, registered, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path, version="auto")
    first = _by_address(_plan_json(run_cli, local_admin, root))[LP_ADDRESS]
    assert _run(run_cli, local_admin, "apply", root, "--auto-approve").code == 0
    assert _by_address(_plan_json(run_cli, local_admin, root))[LP_ADDRESS]["action"] == "noop"
    _tree(tmp_path, version="auto", team="finance")
    second = _by_address(_plan_json(run_cli, local_admin, root))[LP_ADDRESS]
    assert second["action"] == "create"
    assert second["after"]["version"] != first["after"]["version"]
    assert "replacing active version " + first["after"]["version"] in second["reason"]


def test_deactivated_behind_gits_back_is_drift_and_apply_restores_it(
    run_cli, local_admin, registered, stub, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path)
    assert _run(run_cli, local_admin, "apply", root, "--auto-approve").code == 0
    assert _run(run_cli, local_admin, "drift", root).code == 0
    stub.UpdateLaunchPlan(
        launch_plan_pb2.LaunchPlanUpdateRequest(id=b.lp_id("daily"), state=launch_plan_pb2.INACTIVE)
    )
    drift = _run(run_cli, local_admin, "drift", root)
    assert drift.code == 2
    assert f"~ {LP_ADDRESS}" in drift.out
    assert _run(run_cli, local_admin, "apply", root, "--auto-approve").code == 0
    assert _run(run_cli, local_admin, "drift", root).code == 0


def test_execution_spec_change_is_a_conflict_never_a_relaunch(
    run_cli, local_admin, registered, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path, executions=EXECUTION.format(name="run-1", region="us", state="launched"))
    assert _run(run_cli, local_admin, "apply", root, "--auto-approve").code == 0
    _tree(tmp_path, executions=EXECUTION.format(name="run-1", region="eu", state="launched"))
    change = _by_address(_plan_json(run_cli, local_admin, root))[
        f"Execution/{PROJECT}/{DOMAIN}/run-1"
    ]
    assert change["action"] == "conflict"
    assert "give the manifest a new name" in change["reason"]


def test_execution_of_the_active_version_survives_a_new_active_version(
    run_cli, local_admin, registered, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    runs = EXECUTION.format(name="run-1", region="us", state="launched")
    root = _tree(tmp_path, executions=runs)
    assert _run(run_cli, local_admin, "apply", root, "--auto-approve").code == 0
    _tree(tmp_path, version="v2", executions=runs)
    plan = _by_address(_plan_json(run_cli, local_admin, root))
    assert plan[LP_ADDRESS]["action"] == "create"
    assert plan[f"Execution/{PROJECT}/{DOMAIN}/run-1"]["action"] == "noop"


def test_state_terminated_terminates_a_running_execution(
    run_cli, local_admin, registered, stub, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path, executions=EXECUTION.format(name="run-1", region="us", state="launched"))
    assert _run(run_cli, local_admin, "apply", root, "--auto-approve").code == 0
    _tree(tmp_path, executions=EXECUTION.format(name="run-1", region="us", state="terminated"))
    change = _by_address(_plan_json(run_cli, local_admin, root))[
        f"Execution/{PROJECT}/{DOMAIN}/run-1"
    ]
    assert change["action"] == "terminate"
    assert _run(run_cli, local_admin, "apply", root, "--auto-approve").code == 0
    local_admin.advance(60)
    execution = stub.GetExecution(
        execution_pb2.WorkflowExecutionGetRequest(
            id=identifier_pb2.WorkflowExecutionIdentifier(
                project=PROJECT, domain=DOMAIN, name="run-1"
            )
        )
    )
    assert execution.closure.phase in (7, 9)  # ABORTED or ABORTING
    assert _run(run_cli, local_admin, "plan", root, "--detailed-exitcode").code == 0


def test_plan_right_after_terminate_is_empty_while_the_run_is_aborting(
    run_cli, local_admin, registered, stub, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Admin keeps a terminated run ABORTING until the engine has stopped it; that is the
    terminate done, not one more to do (found by the crash test, tests/reliability)."""
    root = _tree(tmp_path, executions=EXECUTION.format(name="run-1", region="us", state="launched"))
    assert _run(run_cli, local_admin, "apply", root, "--auto-approve").code == 0
    _tree(tmp_path, executions=EXECUTION.format(name="run-1", region="us", state="terminated"))
    assert _run(run_cli, local_admin, "apply", root, "--auto-approve").code == 0
    execution = stub.GetExecution(
        execution_pb2.WorkflowExecutionGetRequest(
            id=identifier_pb2.WorkflowExecutionIdentifier(
                project=PROJECT, domain=DOMAIN, name="run-1"
            )
        )
    )
    assert execution.closure.phase == 9  # ABORTING: the clock has not moved
    plan = _run(run_cli, local_admin, "plan", root, "--detailed-exitcode")
    assert plan.code == 0, plan.out


def test_launched_executions_carry_provenance_labels(
    run_cli, local_admin, registered, stub, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path, executions=EXECUTION.format(name="run-1", region="us", state="launched"))
    assert _run(run_cli, local_admin, "apply", root, "--auto-approve").code == 0
    execution = stub.GetExecution(
        execution_pb2.WorkflowExecutionGetRequest(
            id=identifier_pb2.WorkflowExecutionIdentifier(
                project=PROJECT, domain=DOMAIN, name="run-1"
            )
        )
    )
    labels = execution.spec.labels.values
    assert labels["reconciler.flyte.org/owner"] == "team-manifests"
    assert len(labels["reconciler.flyte.org/spec"]) == 16


def test_saved_plan_applies_exactly_and_a_stale_one_is_refused(
    run_cli, local_admin, registered, stub, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path)
    saved = tmp_path / "plan.json"
    assert _run(run_cli, local_admin, "plan", root, "--out", saved).code == 0
    # someone registers the same version first, differently: the plan no longer holds
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(
            id=b.lp_id("daily"), spec=b.lp_spec(registered, types={"a": b.INT})
        )
    )
    stale = _run(run_cli, local_admin, "apply", "--plan", saved, "--auto-approve")
    assert stale.code == 1
    assert "the saved plan is stale" in stale.err
    assert LP_ADDRESS in stale.err


def test_saved_plan_is_applied(run_cli, local_admin, registered, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path)
    saved = tmp_path / "plan.json"
    assert _run(run_cli, local_admin, "plan", root, "--out", saved).code == 0
    applied = _run(run_cli, local_admin, "apply", "--plan", saved, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert _run(run_cli, local_admin, "plan", root, "--detailed-exitcode").code == 0


def test_apply_refuses_to_run_unattended_without_auto_approve(
    run_cli, local_admin, registered, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    result = _run(run_cli, local_admin, "apply", _tree(tmp_path))
    assert result.code == 1
    assert "apply needs --auto-approve when not run at a terminal" in result.err


def test_prune_deactivates_only_owned_launch_plans(
    run_cli, local_admin, registered, stub, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path)
    assert _run(run_cli, local_admin, "apply", root, "--auto-approve").code == 0
    # an unowned active launch plan in the same project/domain
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(
            id=b.lp_id("theirs"), spec=b.lp_spec(registered, types={"a": b.INT})
        )
    )
    stub.UpdateLaunchPlan(
        launch_plan_pb2.LaunchPlanUpdateRequest(id=b.lp_id("theirs"), state=launch_plan_pb2.ACTIVE)
    )
    (root / "lp.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: LaunchPlan\nmetadata: {name: other}\n"
        "spec: {version: v1, workflow: {name: wf, version: v1}, active: false}\n"
    )
    without = _by_address(_plan_json(run_cli, local_admin, root))
    assert LP_ADDRESS not in without  # gone from git, but not pruned without --prune
    result = _run(run_cli, local_admin, "plan", root, "--prune", "-o", "json")
    plan = _by_address(json.loads(result.out))
    assert plan[LP_ADDRESS]["action"] == "deactivate"
    assert f"LaunchPlan/{PROJECT}/{DOMAIN}/theirs" not in plan


def test_input_that_does_not_fit_is_a_plan_error_naming_it(
    run_cli, local_admin, registered, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(
        tmp_path, executions=EXECUTION.format(name="run-1", region="[1, 2]", state="launched")
    )
    result = _run(run_cli, local_admin, "plan", root)
    assert result.code == 1
    assert "runs.yaml:6:" in result.err
    assert "spec.inputs.region" in result.err
    assert "expected str" in result.err


def test_secret_inputs_never_appear_in_plans(
    run_cli, local_admin, registered, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REGION_SECRET", "super-secret-region")
    root = _tree(
        tmp_path,
        executions=EXECUTION.format(
            name="run-1", region='"${env:REGION_SECRET}"', state="launched"
        ),
    )
    for output in ("text", "json", "markdown"):
        result = _run(run_cli, local_admin, "plan", root, "-o", output)
        assert result.code == 0, result.err
        assert "super-secret-region" not in result.out
    assert "${env:REGION_SECRET}" in _run(run_cli, local_admin, "plan", root, "-o", "json").out


def test_missing_environment_variable_is_a_plan_error(
    run_cli, local_admin, registered, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(
        tmp_path,
        executions=EXECUTION.format(name="run-1", region='"${env:NOT_SET_X}"', state="launched"),
    )
    result = _run(run_cli, local_admin, "plan", root)
    assert result.code == 1
    assert "environment variable NOT_SET_X is not set" in result.err


FAILING = """\
apiVersion: reconciler/v1
kind: Execution
metadata: {{name: run-1}}
spec:
  launchPlan: {{name: daily}}
  inputs: {{run_date: 2026-11-30T00:00:00Z}}
  labels: {{localadmin/fail-node: n0, localadmin/fail-attempts: "{fails}"}}
  onFailure: {{action: {action}, maxAttempts: 2}}
"""
RUN = f"Execution/{PROJECT}/{DOMAIN}/run-1"


def _phase(stub, name: str) -> int:  # type: ignore[no-untyped-def]
    return stub.GetExecution(
        execution_pb2.WorkflowExecutionGetRequest(
            id=identifier_pb2.WorkflowExecutionIdentifier(project=PROJECT, domain=DOMAIN, name=name)
        )
    ).closure.phase


def test_failed_execution_is_recovered_once_and_then_left_alone(
    run_cli, local_admin, registered, stub, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path, executions=FAILING.format(fails=1, action="recover"))
    assert _run(run_cli, local_admin, "apply", root, "--auto-approve").code == 0
    local_admin.advance(600)
    assert _phase(stub, "run-1") == 6  # FAILED
    change = _by_address(_plan_json(run_cli, local_admin, root))[RUN]
    assert change["action"] == "recover"
    assert change["after"]["name"] == "run-1-r1"
    assert _run(run_cli, local_admin, "apply", root, "--auto-approve").code == 0
    local_admin.advance(600)
    assert _phase(stub, "run-1-r1") == 4  # SUCCEEDED: the failure was transient
    settled = _by_address(_plan_json(run_cli, local_admin, root))[RUN]
    assert settled["action"] == "noop"
    assert "attempt 1 (run-1-r1) is SUCCEEDED" in settled["reason"]


def test_relaunch_attempts_are_bounded(run_cli, local_admin, registered, stub, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path, executions=FAILING.format(fails=5, action="relaunch"))
    assert _run(run_cli, local_admin, "apply", root, "--auto-approve").code == 0
    for attempt in ("run-1-r1", "run-1-r2"):
        local_admin.advance(600)
        change = _by_address(_plan_json(run_cli, local_admin, root))[RUN]
        assert (change["action"], change["after"]["name"]) == ("relaunch", attempt)
        assert _run(run_cli, local_admin, "apply", root, "--auto-approve").code == 0
    local_admin.advance(600)
    final = _by_address(_plan_json(run_cli, local_admin, root))[RUN]
    assert final["action"] == "noop"
    assert "gave up after 2 attempt(s)" in final["reason"]


def test_applying_the_same_plan_twice_converges_without_duplicates(
    run_cli, local_admin, registered, stub, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """A run killed after its creates landed and started again: ALREADY_EXISTS with the same
    spec counts as done."""
    from reconciler.admin.client import AdminClient
    from reconciler.apply.run import apply_plan
    from reconciler.commands.reconcile_common import AdminOptions, compute_plan
    from reconciler.config import Connection, ConnectionFlags

    root = _tree(tmp_path, executions=EXECUTION.format(name="run-1", region="us", state="launched"))
    options = AdminOptions((root,), ConnectionFlags(local_admin.endpoint, True))
    planned = compute_plan(options, {})
    with AdminClient(Connection(endpoint=local_admin.endpoint, insecure=True)) as client:
        first = apply_plan(planned.plan, client)
        second = apply_plan(planned.plan, client)
    assert all(r.ok for r in first + second), [r.message for r in first + second]
    listed = stub.ListExecutions(
        common_pb2.ResourceListRequest(
            id=common_pb2.NamedEntityIdentifier(project=PROJECT, domain=DOMAIN), limit=100
        )
    )
    assert [e.id.name for e in listed.executions] == ["run-1"]


def test_scheduled_launch_plan_with_an_unbound_input_is_a_plan_error(
    run_cli, local_admin, registered, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path)
    (root / "lp.yaml").write_text(
        LAUNCH_PLAN.format(version="v1", active="true", team="a").replace(
            "kickoffTimeInputArg: run_date", "kickoffTimeInputArg: region"
        )
    )
    result = _run(run_cli, local_admin, "plan", root)
    assert result.code == 1
    assert (
        "lp.yaml:8:13: spec.schedule: input(s) run_date of workflow wf have no default"
        in result.err
    )


def test_apply_prints_the_console_url_of_each_launched_run(
    run_cli, local_admin, registered, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path, executions=EXECUTION.format(name="run-1", region="us", state="launched"))
    with (root / "reconciler.yaml").open("a") as settings_file:
        settings_file.write("console: {endpoint: 'https://flyte.example.com'}\n")
    applied = _run(run_cli, local_admin, "apply", root, "--auto-approve")
    assert applied.code == 0, applied.err
    assert (
        "ok Execution/flytesnacks/development/run-1: created\n"
        "    https://flyte.example.com/console/projects/flytesnacks/domains/development/"
        "executions/run-1\n"
    ) in applied.out


def test_a_required_input_left_out_is_a_plan_error(
    run_cli, local_admin, registered, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path)
    (root / "runs.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Execution\nmetadata: {name: run-1}\n"
        "spec: {launchPlan: {name: daily}}\n"
    )
    result = _run(run_cli, local_admin, "plan", root)
    assert result.code == 1
    assert (
        "runs.yaml:4:7: spec.inputs: launch plan daily version v1 requires input(s) run_date"
        in result.err
    )


def test_unreachable_endpoint_fails_plan_with_one_line(run_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path)
    result = run_cli("plan", root, "--endpoint", "127.0.0.1:1", "--insecure")
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert "cannot reach FlyteAdmin at 127.0.0.1:1" in result.err


def test_verbose_plan_names_where_the_endpoint_came_from(
    run_cli, local_admin, registered, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path)
    result = _run(run_cli, local_admin, "plan", root, "-v")
    assert result.code == 0, result.err
    assert f"settings file: {root / 'reconciler.yaml'}" in result.err
    assert f"endpoint = {local_admin.endpoint}  [command line]" in result.err


def test_launched_runs_carry_the_git_commit_of_the_manifests(
    run_cli, local_admin, registered, stub, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import git

    root = _tree(tmp_path, executions=EXECUTION.format(name="run-1", region="us", state="launched"))
    repo = git.Repo.init(root)
    repo.index.add(["lp.yaml", "runs.yaml", "reconciler.yaml"])
    commit = repo.index.commit(
        "manifests",
        author=git.Actor("t", "t@example.com"),
        committer=git.Actor("t", "t@example.com"),
    )
    assert _run(run_cli, local_admin, "apply", root, "--auto-approve").code == 0
    execution = stub.GetExecution(
        execution_pb2.WorkflowExecutionGetRequest(
            id=identifier_pb2.WorkflowExecutionIdentifier(
                project=PROJECT, domain=DOMAIN, name="run-1"
            )
        )
    )
    # the short SHA (the tree is clean: the commit holds exactly these manifests)
    assert execution.spec.labels.values["reconciler.flyte.org/commit"] == commit.hexsha[:12]


def test_apply_at_a_terminal_asks_and_only_yes_applies(
    local_admin, registered, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import io

    from reconciler.commands import Outcome
    from reconciler.commands.apply import ApplyOptions, run_apply
    from reconciler.commands.reconcile_common import AdminOptions
    from reconciler.config import ConnectionFlags

    root = _tree(tmp_path)
    options = ApplyOptions(AdminOptions((root,), ConnectionFlags(local_admin.endpoint, True)))
    answers = iter(["no", "yes"])
    monkeypatch.setattr("click.prompt", lambda *a, **k: next(answers))
    out = io.StringIO()
    assert run_apply(options, {}, out, interactive=True) is Outcome.FAILURE
    assert "Apply cancelled; nothing was changed." in out.getvalue()
    assert run_apply(options, {}, io.StringIO(), interactive=True) is Outcome.SUCCESS


def test_prune_covers_a_project_domain_that_no_manifest_names_any_more(
    run_cli, local_admin, registered, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _tree(tmp_path)
    assert _run(run_cli, local_admin, "apply", root, "--auto-approve").code == 0
    # the tree's last launch plan in flytesnacks/development goes; what remains is elsewhere
    (root / "lp.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Signal\n"
        "metadata: {name: gate, project: other-project, domain: production}\n"
        "spec: {execution: some-run, signalId: ok, approve: true}\n"
    )
    result = _run(run_cli, local_admin, "plan", root, "--prune", "-o", "json")
    assert result.code == 0, result.err
    plan = _by_address(json.loads(result.out))
    assert plan[LP_ADDRESS]["action"] == "deactivate"
    applied = _run(run_cli, local_admin, "apply", root, "--prune", "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    again = _by_address(_plan_json(run_cli, local_admin, root))
    assert LP_ADDRESS not in again


def test_a_conflict_has_its_own_exit_code_and_count(
    run_cli, local_admin, registered, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """CI must tell "needs apply" (2) from "apply will refuse" (3), and read the count."""
    root = _tree(tmp_path)
    assert _plan_json(run_cli, local_admin, root)["summary"]["conflict"] == 0
    assert _run(run_cli, local_admin, "apply", root, "--auto-approve").code == 0
    run = EXECUTION.format(name="run-1", region="us", state="launched")
    _tree(tmp_path, team="finance", executions=run)  # same version, another spec: a conflict

    summary = _plan_json(run_cli, local_admin, root)["summary"]
    assert (summary["conflict"], summary["create"]) == (1, 1)
    assert _run(run_cli, local_admin, "plan", root).code == 0
    assert _run(run_cli, local_admin, "plan", root, "--detailed-exitcode").code == 3
    # a conflict is Admin holding something other than git: drift, as drift reports it
    assert _run(run_cli, local_admin, "drift", root).code == 2

    applied = _run(run_cli, local_admin, "apply", root, "--auto-approve")
    assert applied.code == 1
    assert f"failed: {LP_ADDRESS}: refused:" in applied.out
    assert f"ok Execution/{PROJECT}/{DOMAIN}/run-1: created" in applied.out
    assert _run(run_cli, local_admin, "plan", root, "--detailed-exitcode").code == 3
