"""``--endpoint local[:DBFILE]``: an in-process local Admin whose state outlives each command."""

from __future__ import annotations

from pathlib import Path

import grpc
from flyteidl.service import admin_pb2_grpc

from reconciler.localadmin import LocalAdmin
from tests.engine.conftest import register_example, settings
from tests.engine.test_plan_apply import EXECUTION, LAUNCH_PLAN


def _register(db: Path) -> None:
    with (
        LocalAdmin(db=db, data_dir=db.parent / "data") as admin,
        grpc.insecure_channel(admin.endpoint) as channel,
    ):
        register_example(admin_pb2_grpc.AdminServiceStub(channel))


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
