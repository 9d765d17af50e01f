"""Signal manifests against gates of a running execution in the local Admin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flyteidl.admin import execution_pb2
from flyteidl.core import identifier_pb2

from reconciler.localadmin import LocalAdmin
from tests.engine.conftest import DOMAIN, PROJECT, settings
from tests.localadmin import builders as b

MANIFESTS = """\
apiVersion: reconciler/v1
kind: Execution
metadata: {{name: run-g}}
spec:
  launchPlan: {{name: gated, version: v1}}
  inputs: {{a: 1}}
---
apiVersion: reconciler/v1
kind: Signal
metadata: {{name: approve-run-g}}
spec: {{execution: run-g, signalId: ok, approve: true}}
---
apiVersion: reconciler/v1
kind: Signal
metadata: {{name: number-for-run-g}}
spec: {{execution: run-g, signalId: n, value: {value}}}
"""
OK = f"Signal/{PROJECT}/{DOMAIN}/run-g/ok"
N = f"Signal/{PROJECT}/{DOMAIN}/run-g/n"


@pytest.fixture
def gated(stub, registered) -> None:  # type: ignore[no-untyped-def]
    """Workflow ``gated``: approve gate ``ok``, then a wait_for_input gate ``n`` (int)."""
    b.register_gated(stub)


def _root(tmp_path: Path, value: str = "42") -> Path:
    root = settings(tmp_path / "manifests")
    (root / "run.yaml").write_text(MANIFESTS.format(value=value))
    return root


def _actions(run_cli, admin: LocalAdmin, root: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    result = run_cli("plan", root, "-o", "json", "--endpoint", admin.endpoint, "--insecure")
    assert result.code == 0, result.err
    return {c["address"]: c["action"] for c in json.loads(result.out)["changes"]}


def _apply(run_cli, admin: LocalAdmin, root: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("apply", root, "--auto-approve", "--endpoint", admin.endpoint, "--insecure")
    assert result.code == 0, result.out + result.err


def test_signals_wait_then_are_set_and_the_execution_succeeds(
    run_cli, local_admin, stub, gated, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _root(tmp_path)
    actions = _actions(run_cli, local_admin, root)
    assert (actions[OK], actions[N]) == ("wait", "wait")
    _apply(run_cli, local_admin, root)
    local_admin.advance(60)
    actions = _actions(run_cli, local_admin, root)
    assert (actions[OK], actions[N]) == ("set", "wait")
    _apply(run_cli, local_admin, root)
    local_admin.advance(60)
    assert _actions(run_cli, local_admin, root)[N] == "set"
    _apply(run_cli, local_admin, root)
    local_admin.advance(60)
    execution = stub.GetExecution(
        execution_pb2.WorkflowExecutionGetRequest(
            id=identifier_pb2.WorkflowExecutionIdentifier(
                project=PROJECT, domain=DOMAIN, name="run-g"
            )
        )
    )
    assert execution.closure.phase == 4  # SUCCEEDED
    assert set(_actions(run_cli, local_admin, root).values()) == {"noop"}
    # another value for a signal already set: Admin would overwrite, we refuse
    _root(tmp_path, value="43")
    assert _actions(run_cli, local_admin, root)[N] == "conflict"


def test_a_value_that_does_not_fit_the_signal_type_is_a_plan_error(
    run_cli, local_admin, gated, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _root(tmp_path, value="forty-two")
    _apply(run_cli, local_admin, root)
    local_admin.advance(60)
    signals_only = root / "run.yaml"
    text = signals_only.read_text().replace("approve: true", "value: 5")
    signals_only.write_text(text)
    result = run_cli("plan", root, "--endpoint", local_admin.endpoint, "--insecure")
    assert result.code == 1
    assert "run.yaml:11:47: spec.value: expected bool, got the integer 5" in result.err


def test_signals_command_lists_what_runs_wait_on(run_cli, local_admin, gated, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = _root(tmp_path)
    _apply(run_cli, local_admin, root)
    endpoint = ("--endpoint", local_admin.endpoint, "--insecure")
    assert run_cli("signals", root, *endpoint).out == (
        "No signals: none of these runs has reached a gate.\n"
    )
    local_admin.advance(60)
    listed = run_cli("signals", root, *endpoint)
    assert listed.code == 0, listed.err
    assert listed.out == f"{PROJECT}/{DOMAIN}/run-g  ok  (bool)  waiting\n"
    _apply(run_cli, local_admin, root)
    local_admin.advance(60)
    rows = json.loads(run_cli("signals", root, *endpoint, "-o", "json").out)["signals"]
    assert [(r["signal"], r["type"], r["state"], r["value"]) for r in rows] == [
        ("n", "int", "waiting", None),
        ("ok", "bool", "set", True),
    ]
