"""``status`` and ``apply --wait`` against a local Admin that runs on the wall clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from flyteidl.service import admin_pb2_grpc

from reconciler.localadmin import LocalAdmin
from tests.engine.conftest import DOMAIN, PROJECT, register_example, settings

RUN = """\
apiVersion: reconciler/v1
kind: Execution
metadata: {{name: {name}}}
spec:
  launchPlan: {{name: wf, version: v1}}
  inputs: {{a: 7, run_date: 2026-11-30T00:00:00Z}}
  labels: {labels}
"""


@pytest.fixture
def live_admin(tmp_path: Path) -> Iterator[LocalAdmin]:
    with LocalAdmin(data_dir=tmp_path / "data", task_seconds=0.05, tick_interval=0.05) as admin:
        with grpc.insecure_channel(admin.endpoint) as channel:
            register_example(admin_pb2_grpc.AdminServiceStub(channel))
        yield admin


def _root(tmp_path: Path, name: str = "run-1", labels: str = "{}") -> Path:
    root = settings(tmp_path / "manifests")
    (root / "run.yaml").write_text(RUN.format(name=name, labels=labels))
    return root


def _cli(run_cli, admin: LocalAdmin, *args: object):  # type: ignore[no-untyped-def]
    return run_cli(*args, "--endpoint", admin.endpoint, "--insecure")


def test_apply_wait_follows_the_run_to_success(run_cli, live_admin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = _root(tmp_path)
    result = _cli(
        run_cli, live_admin, "apply", root, "--auto-approve", "--wait", "--timeout", "60s"
    )
    assert result.code == 0, result.out + result.err
    assert "Waiting for 1 run(s)" in result.out
    assert "  run-1: SUCCEEDED" in result.out


def test_apply_wait_fails_when_a_run_fails(run_cli, live_admin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = _root(tmp_path, labels="{localadmin/fail-node: n0}")
    result = _cli(
        run_cli, live_admin, "apply", root, "--auto-approve", "--wait", "--timeout", "60s"
    )
    assert result.code == 1
    assert "  failed: run-1 FAILED" in result.out


def test_apply_wait_gives_up_after_the_timeout(run_cli, live_admin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = _root(tmp_path)
    live_admin.engine.queue_seconds = 3600.0  # the run stays queued
    result = _cli(run_cli, live_admin, "apply", root, "--auto-approve", "--wait", "--timeout", "2s")
    assert result.code == 1
    assert "timed out waiting for run-1" in result.out


def test_status_shows_phase_inputs_outputs_and_spans(run_cli, live_admin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = _root(tmp_path)
    assert _cli(run_cli, live_admin, "apply", root, "--auto-approve", "--wait").code == 0
    result = _cli(run_cli, live_admin, "status", root, "-o", "json")
    assert result.code == 0, result.err
    [run] = json.loads(result.out)["runs"]
    assert run["execution"] == f"{PROJECT}/{DOMAIN}/run-1"
    assert run["phase"] == "SUCCEEDED"
    assert run["inputs"]["a"] == 7
    assert run["inputs"]["run_date"] == "2026-11-30T00:00:00Z"
    assert run["outputs"] == {"o0": 0}  # simulated: the zero value of the output type
    assert run["spans"]["what"] == "workflow:run-1"
    assert any(s["what"] == "node:n0" for s in run["spans"]["spans"])
    text = _cli(run_cli, live_admin, "status", root).out
    assert text.startswith(f"{PROJECT}/{DOMAIN}/run-1  SUCCEEDED")


def test_status_names_manifests_not_launched(run_cli, live_admin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = _cli(run_cli, live_admin, "status", _root(tmp_path))
    assert result.out == f"Execution/{PROJECT}/{DOMAIN}/run-1: not launched\n"


SECRET_RUN = """\
apiVersion: reconciler/v1
kind: Execution
metadata: {name: run-s}
spec:
  launchPlan: {name: wf, version: v1}
  inputs: {a: 7, run_date: 2026-11-30T00:00:00Z, region: "${env:TOKEN}"}
"""
TOKEN = "tok-9f8e7d6c5b4a"


def test_status_never_prints_a_value_that_came_from_the_environment(
    run_cli, live_admin, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TOKEN", TOKEN)
    root = settings(tmp_path / "manifests")
    (root / "run.yaml").write_text(SECRET_RUN)
    assert _cli(run_cli, live_admin, "apply", root, "--auto-approve", "--wait").code == 0
    as_json = _cli(run_cli, live_admin, "status", root, "-o", "json")
    assert as_json.code == 0, as_json.err
    assert TOKEN not in as_json.out + as_json.err
    [run] = json.loads(as_json.out)["runs"]
    assert run["inputs"]["region"] == "${env:TOKEN}"  # the reference as written in git
    assert run["inputs"]["a"] == 7
    text = _cli(run_cli, live_admin, "status", root)
    assert text.code == 0, text.err
    assert TOKEN not in text.out + text.err
    assert '"region": "${env:TOKEN}"' in text.out
