"""``reconciler reconcile --once``: one pass through the real CLI, against the local Admin over
gRPC; exit codes as ``drift``'s, the JSON line, sync windows, secrets."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tests.loop.conftest import LP_ADDRESS, SECRET_REGION, deactivate, is_active


def _once(run_cli, local_admin, root: Path, *args: object):  # type: ignore[no-untyped-def]
    return run_cli(
        "reconcile", root, "--once", "--endpoint", local_admin.endpoint, "--insecure", *args
    )


def test_once_exits_as_drift_does_and_self_heal_restores(  # type: ignore[no-untyped-def]
    run_cli, local_admin, stub, manifests
) -> None:
    pending = _once(run_cli, local_admin, manifests)
    assert pending.code == 2, pending.out + pending.err  # not created yet: changes left
    assert f"+ {LP_ADDRESS}: drifted" in pending.out
    assert "not applied: report only (no --self-heal)" in pending.out
    created = _once(run_cli, local_admin, manifests, "--self-heal")
    assert created.code == 0, created.out + created.err
    assert "applied 1, 0 failed; synced" in created.out
    assert _once(run_cli, local_admin, manifests).code == 0  # in sync
    deactivate(stub)
    assert _once(run_cli, local_admin, manifests).code == 2
    assert not is_active(stub)
    healed = _once(run_cli, local_admin, manifests, "--self-heal")
    assert healed.code == 0, healed.out + healed.err
    assert is_active(stub)


def test_a_pass_that_cannot_plan_exits_1(run_cli, local_admin, stub, manifests) -> None:  # type: ignore[no-untyped-def]
    (manifests / "broken.yaml").write_text("apiVersion: reconciler/v1\nkind: LaunchPlan\n")
    broken = _once(run_cli, local_admin, manifests)
    assert broken.code == 1
    assert "failed after" in broken.out
    assert "invalid manifests" in broken.err


def test_json_log_is_one_line_per_pass(run_cli, local_admin, stub, manifests) -> None:  # type: ignore[no-untyped-def]
    assert _once(run_cli, local_admin, manifests, "--self-heal").code == 0
    deactivate(stub)
    result = _once(run_cli, local_admin, manifests, "--log-format", "json")
    assert result.code == 2
    lines = result.out.splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["event"] == "pass"
    assert line["result"] == "drifted"
    assert line["counts"]["action"]["update"] == 1
    assert line["counts"]["kind"] == {"LaunchPlan": {"update": 1}}
    assert line["counts"]["status"]["drifted"] == 1
    assert line["drifted"] == [LP_ADDRESS]
    assert line["drift"] == [LP_ADDRESS]
    assert line["failures"] == []
    assert line["start"].endswith("Z")
    assert line["duration_seconds"] > 0
    assert "commit" in line
    assert line["not_applied"] == "report only (no --self-heal)"


def test_a_deny_window_plans_but_does_not_apply(  # type: ignore[no-untyped-def]
    run_cli, local_admin, stub, manifests
) -> None:
    assert _once(run_cli, local_admin, manifests, "--self-heal").code == 0
    deactivate(stub)
    settings = manifests / "reconciler.yaml"
    settings.write_text(
        settings.read_text()
        + "syncWindows:\n  - {kind: deny, schedule: '* * * * *', duration: 1h}\n"
    )
    held = _once(run_cli, local_admin, manifests, "--self-heal", "--log-format", "json")
    assert held.code == 2, held.out + held.err
    line = json.loads(held.out)
    assert line["sync_window_open"] is False
    assert line["applied"] is False
    assert line["not_applied"].startswith("sync window closed: inside deny window")
    assert line["drifted"] == [LP_ADDRESS]
    assert not is_active(stub)


RUN_WITH_SECRET = """\
apiVersion: reconciler/v1
kind: Execution
metadata: {name: run-1}
spec:
  launchPlan: {name: daily, version: v1}
  inputs: {run_date: 2026-11-30T00:00:00Z, a: "${env:LOOP_A}"}
"""


def test_secrets_reach_no_output_state_or_notification(  # type: ignore[no-untyped-def]
    run_cli, local_admin, stub, manifests, receiver, tmp_path, monkeypatch
) -> None:
    assert _once(run_cli, local_admin, manifests, "--self-heal").code == 0
    deactivate(stub)
    state = tmp_path / "state.json"
    result = _once(
        run_cli, local_admin, manifests, "--notify", receiver.url, "--state-file", state, "-v"
    )
    assert result.code == 2
    assert receiver.events() == ["drift_detected"]  # delivered before --once returns
    seen = result.out + result.err + state.read_text() + json.dumps(receiver.received)
    assert SECRET_REGION not in seen
    # a secret that does not fit its input fails the pass without being quoted anywhere
    monkeypatch.setenv("LOOP_A", "s3cr3t-not-an-int")
    (manifests / "run.yaml").write_text(RUN_WITH_SECRET)
    failed = _once(
        run_cli, local_admin, manifests, "--notify", receiver.url, "--state-file", state, "-v"
    )
    assert failed.code == 1
    assert receiver.events() == ["drift_detected", "pass_failed"]
    assert "inputs.a" in failed.err
    seen = failed.out + failed.err + state.read_text() + json.dumps(receiver.received)
    assert "s3cr3t" not in seen


def test_a_dead_receiver_does_not_fail_the_pass(run_cli, local_admin, stub, manifests) -> None:  # type: ignore[no-untyped-def]
    assert _once(run_cli, local_admin, manifests, "--self-heal").code == 0
    deactivate(stub)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = f"http://127.0.0.1:{port}/services/T0/B0/token"
    result = _once(run_cli, local_admin, manifests, "--notify", dead)
    assert result.code == 2
    assert f"notify: drift_detected to http://127.0.0.1:{port}/… failed" in result.err
    assert "token" not in result.err


def test_once_at_a_git_revision_reads_that_revision(run_cli, local_admin, stub, manifests) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@e", *args],
            cwd=manifests, check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip

    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "launch plan")
    first = git("rev-parse", "HEAD")
    (manifests / "lp.yaml").unlink()  # the working tree no longer has it
    result = _once(run_cli, local_admin, manifests, "--self-heal", "--ref", first)
    assert result.code == 0, result.out + result.err
    assert is_active(stub)
    assert not (manifests / "lp.yaml").exists()  # the working tree is left as it was
