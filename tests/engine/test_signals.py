"""Signal manifests against gates of a running execution in the local Admin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flyteidl.admin import execution_pb2, launch_plan_pb2, workflow_pb2
from flyteidl.core import identifier_pb2
from flyteidl.core import workflow_pb2 as core_wf_pb2

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


def test_the_gates_of_an_aborted_run_are_not_waiting(run_cli, local_admin, gated, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = settings(tmp_path / "manifests")
    run = root / "run.yaml"
    # the run alone: nobody approves its gate
    run.write_text(MANIFESTS.split("---", maxsplit=1)[0].format())
    _apply(run_cli, local_admin, root)
    local_admin.advance(60)
    endpoint = ("--endpoint", local_admin.endpoint, "--insecure")
    assert run_cli("signals", root, *endpoint).out.endswith("  ok  (bool)  waiting\n")
    # terminate the run through its manifest, as a person would
    run.write_text(run.read_text() + "  state: terminated\n")
    _apply(run_cli, local_admin, root)
    local_admin.advance(60)
    listed = run_cli("signals", root, *endpoint)
    assert listed.code == 0, listed.err
    assert listed.out == f"{PROJECT}/{DOMAIN}/run-g  ok  (bool)  not set; run ABORTED\n"
    rows = json.loads(run_cli("signals", root, *endpoint, "-o", "json").out)["signals"]
    assert [(r["signal"], r["state"], r["run_phase"]) for r in rows] == [
        ("ok", "not set", "ABORTED")
    ]


KEYED = """\
apiVersion: reconciler/v1
kind: Execution
metadata: {name: run-k}
spec:
  launchPlan: {name: keyed, version: v1}
  inputs: {a: 1}
---
apiVersion: reconciler/v1
kind: Signal
metadata: {name: key-for-run-k}
spec: {execution: run-k, signalId: key, value: "${env:TOKEN}"}
"""
TOKEN = "tok-5a4b3c2d1e0f"


def test_a_signal_value_from_the_environment_is_never_printed(
    run_cli, local_admin, stub, registered, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # workflow ``keyed``: one gate waiting for a string ``key``, which is also its output
    gate = core_wf_pb2.Node(
        id="g0",
        gate_node=core_wf_pb2.GateNode(
            signal=core_wf_pb2.SignalCondition(
                signal_id="key", type=b.STR, output_variable_name="o0"
            )
        ),
    )
    spec = b.workflow_spec(nodes=[gate], outputs={"o0": b.STR}, output_from="g0")
    stub.CreateWorkflow(workflow_pb2.WorkflowCreateRequest(id=b.workflow_id("keyed"), spec=spec))
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(
            id=b.lp_id("keyed"), spec=b.lp_spec(workflow=b.workflow_id("keyed"))
        )
    )
    monkeypatch.setenv("TOKEN", TOKEN)
    root = settings(tmp_path / "manifests")
    (root / "run.yaml").write_text(KEYED)
    endpoint = ("--endpoint", local_admin.endpoint, "--insecure")
    _apply(run_cli, local_admin, root)
    local_admin.advance(60)
    _apply(run_cli, local_admin, root)  # sets the signal from the environment
    local_admin.advance(60)
    text = run_cli("signals", root, *endpoint)
    assert text.code == 0, text.err
    assert text.out == f'{PROJECT}/{DOMAIN}/run-k  key  (str)  set to "${{env:TOKEN}}"\n'
    as_json = run_cli("signals", root, *endpoint, "-o", "json")
    assert TOKEN not in as_json.out
    assert json.loads(as_json.out)["signals"][0]["value"] == "${env:TOKEN}"
    # the gate's value is the run's output: status hides it too, though no input held it
    status = run_cli("status", root, *endpoint, "-o", "json")
    assert status.code == 0, status.err
    assert TOKEN not in status.out
    [run] = json.loads(status.out)["runs"]
    assert (run["phase"], run["outputs"]) == ("SUCCEEDED", {"o0": "${env:TOKEN}"})


def test_a_gate_of_a_finished_run_is_neither_set_nor_waited_for(
    run_cli, local_admin, gated, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _root(tmp_path)
    run = root / "run.yaml"
    only_run = MANIFESTS.split("---", maxsplit=1)[0].format()
    run.write_text(only_run)
    _apply(run_cli, local_admin, root)
    local_admin.advance(60)  # the run waits at gate ok
    run.write_text(only_run + "  state: terminated\n")
    _apply(run_cli, local_admin, root)
    local_admin.advance(60)
    run.write_text(
        MANIFESTS.format(value="42").replace(
            "inputs: {a: 1}", "inputs: {a: 1}\n  state: terminated"
        )
    )
    result = run_cli("plan", root, "-o", "json", "--endpoint", local_admin.endpoint, "--insecure")
    assert result.code == 0, result.err
    changes = {c["address"]: c for c in json.loads(result.out)["changes"]}
    for address in (OK, N):  # ok was reached, n never: neither waits on anything now
        assert changes[address]["action"] == "noop", changes[address]
        assert "ABORTED" in changes[address]["reason"]
