"""``--endpoint local[:DBFILE]``: an in-process local Admin whose state outlives each command."""

from __future__ import annotations

from pathlib import Path

import grpc
from flyteidl.admin import launch_plan_pb2, task_pb2, workflow_pb2
from flyteidl.service import admin_pb2_grpc

from reconciler.localadmin import LocalAdmin
from tests.engine.conftest import WORKFLOW_INPUTS, settings
from tests.engine.test_plan_apply import EXECUTION, LAUNCH_PLAN
from tests.localadmin import builders as b


def _register(db: Path) -> None:
    with (
        LocalAdmin(db=db, data_dir=db.parent / "data") as admin,
        grpc.insecure_channel(admin.endpoint) as channel,
    ):
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        stub.CreateTask(task_pb2.TaskCreateRequest(id=b.task_id(), spec=b.task_spec()))
        stub.CreateWorkflow(
            workflow_pb2.WorkflowCreateRequest(
                id=b.workflow_id(), spec=b.workflow_spec(inputs=WORKFLOW_INPUTS)
            )
        )
        stub.CreateLaunchPlan(
            launch_plan_pb2.LaunchPlanCreateRequest(
                id=b.lp_id("wf"),
                spec=b.lp_spec(
                    b.workflow_id(), defaults={"region": b.str_literal("eu")}, types=WORKFLOW_INPUTS
                ),
            )
        )


def test_state_persists_between_commands(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "state" / "admin.db"
    db.parent.mkdir()
    _register(db)
    root = settings(tmp_path / "manifests")
    (root / "lp.yaml").write_text(LAUNCH_PLAN.format(version="v1", active="true", team="a"))
    (root / "runs.yaml").write_text(EXECUTION.format(name="run-1", region="us", state="launched"))
    endpoint = f"local:{db}"
    assert run_cli("plan", root, "--endpoint", endpoint, "--detailed-exitcode").code == 2
    applied = run_cli("apply", root, "--endpoint", endpoint, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    again = run_cli("plan", root, "--endpoint", endpoint, "--detailed-exitcode")
    assert again.code == 0, again.out + again.err


def test_plain_local_uses_a_file_under_dot_reconciler(run_cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    result = run_cli("ping", tmp_path, "--endpoint", "local")
    assert result.code == 0, result.err
    assert "projects: flytesnacks" in result.out
    assert (tmp_path / ".reconciler" / "local-admin.db").is_file()
