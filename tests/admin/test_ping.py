"""``reconciler ping``: the connection settings every Admin command uses, end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.admin.standins import AdminStandIn
from tests.conftest import write


def test_unreachable_endpoint_fails_with_one_clear_line(run_cli, tmp_path: Path) -> None:
    result = run_cli("ping", tmp_path, "--endpoint", "127.0.0.1:1", "--insecure")
    assert result.code == 1
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert result.err.startswith("error: GetVersion: cannot reach FlyteAdmin at 127.0.0.1:1 (")


def test_ping_reports_version_and_projects(run_cli, admin: AdminStandIn, tmp_path: Path) -> None:
    admin.behaviour.projects = ["flytesnacks", "analytics"]
    result = run_cli("ping", tmp_path, "--endpoint", admin.endpoint, "--insecure")
    assert result.code == 0, result.err
    assert result.out == (
        f"FlyteAdmin at {admin.endpoint}: version v1.16.8-standin\n"
        "projects: flytesnacks, analytics\n"
    )


def test_verbose_names_the_source_of_each_setting_but_never_the_secret(
    run_cli, admin: AdminStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        tmp_path / "reconciler.yaml", f"admin: {{endpoint: '{admin.endpoint}', insecure: true}}\n"
    )
    monkeypatch.setenv("FLYTE_CREDENTIALS_CLIENT_ID", "reconciler")
    monkeypatch.setenv("FLYTE_CREDENTIALS_CLIENT_SECRET", "hunter2-secret")
    monkeypatch.setenv("FLYTE_CREDENTIALS_AUTH_MODE", "ExternalCommand")
    monkeypatch.setenv("FLYTE_CREDENTIALS_COMMAND", "echo token-from-command")
    result = run_cli("ping", tmp_path, "-v")
    assert result.code == 0, result.err
    assert f"endpoint = {admin.endpoint}  [reconciler.yaml]" in result.err
    assert "auth_type = ExternalCommand  [FLYTE_CREDENTIALS_AUTH_MODE]" in result.err
    assert "client_secret = (set)  [FLYTE_CREDENTIALS_CLIENT_SECRET]" in result.err
    assert "hunter2" not in result.out + result.err


def test_missing_endpoint_is_a_config_error(run_cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("ping", tmp_path)
    assert result.code == 1
    assert result.err.startswith("error: no FlyteAdmin endpoint: pass --endpoint")
