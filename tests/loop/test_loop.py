"""``reconciler reconcile`` as a long-running process: metrics and state over HTTP, notifications
to a receiver on loopback, push webhooks, and shutdown on signals."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import threading
from datetime import datetime
from pathlib import Path

from reconciler.loop.webhook import github_signature
from tests.loop.conftest import (
    LP_ADDRESS,
    SECRET_REGION,
    Gate,
    ReconcilerProcess,
    deactivate,
    eventually,
    is_active,
)

HOOK_SECRET = "webhook-s3cret"
DRIFTED_LP = 'reconciler_resources{kind="LaunchPlan",status="drifted"} 1.0'
SYNCED_LP = 'reconciler_resources{kind="LaunchPlan",status="synced"} 1.0'


def _apply(run_cli, local_admin, root: Path) -> None:  # type: ignore[no-untyped-def]
    applied = run_cli(
        "apply", root, "--auto-approve", "--endpoint", local_admin.endpoint, "--insecure"
    )
    assert applied.code == 0, applied.out + applied.err


def test_drift_is_measured_announced_once_and_healed(  # type: ignore[no-untyped-def]
    run_cli, local_admin, stub, manifests, receiver, start_loop
) -> None:
    _apply(run_cli, local_admin, manifests)
    deactivate(stub)
    watching = start_loop(manifests, "--interval", "0.2s", "--notify", receiver.url)
    eventually(lambda: DRIFTED_LP in watching.metrics(), "the drift in /metrics")
    watching.wait_passes(4)
    eventually(lambda: receiver.received, "a notification")
    assert receiver.events() == ["drift_detected"]  # once, over several passes
    (note,) = receiver.received
    assert note["addresses"] == [LP_ADDRESS]
    assert note["text"].startswith("Drift detected")
    assert note["blocks"]
    metrics = watching.metrics()
    for name in (
        "reconciler_pass_duration_seconds_bucket",
        'reconciler_passes_total{result="drifted"}',
        "reconciler_last_success_timestamp_seconds",
        "reconciler_apply_failures",
        'reconciler_admin_rpc_duration_seconds_count{code="OK",method="ListLaunchPlans"}',
        'reconciler_source_info{commit="unknown"} 1.0',
        "reconciler_sync_window_open 1.0",
    ):
        assert name in metrics, name
    state = watching.state()
    (resource,) = state["resources"]
    assert resource["address"] == LP_ADDRESS
    assert (resource["kind"], resource["project"], resource["status"]) == (
        "LaunchPlan",
        "flytesnacks",
        "drifted",
    )
    assert resource["reason"]
    assert state["last_pass"]["result"] == "drifted"
    assert watching.get("/readyz").status == 200
    healthz = watching.get("/healthz")
    assert (healthz.status, healthz.body) == (200, "ok\n")
    assert SECRET_REGION not in metrics + json.dumps(state) + watching.out + watching.err
    assert not is_active(stub)  # report only
    watching.signal(signal.SIGTERM)
    assert watching.wait() == 0

    # the same state file: the drift was announced already; self-heal restores it
    healing = start_loop(manifests, "--interval", "0.2s", "--self-heal", "--notify", receiver.url)
    eventually(lambda: SYNCED_LP in healing.metrics(), "the launch plan synced again")
    assert is_active(stub)
    eventually(lambda: len(receiver.received) >= 2, "the drift_resolved notification")
    healing.wait_passes(3)
    assert receiver.events() == ["drift_detected", "drift_resolved"]
    assert receiver.received[1]["addresses"] == [LP_ADDRESS]
    healing.signal(signal.SIGINT)
    assert healing.wait() == 0


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def _github(loop: ReconcilerProcess, body: bytes, delivery: str, secret: str = HOOK_SECRET) -> int:
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": github_signature(secret, body),
        "Content-Type": "application/json",
    }
    return loop.post("/hooks/git", body, headers)


def _triggers(loop: ReconcilerProcess) -> list[str]:
    return [t for p in loop.passes() for t in p["triggers"]]


def test_a_signed_push_triggers_a_pass_and_a_forged_one_nothing(  # type: ignore[no-untyped-def]
    local_admin, stub, manifests, start_loop
) -> None:
    _git(manifests, "init", "-q", "-b", "main")
    _git(manifests, "add", ".")
    _git(manifests, "commit", "-q", "-m", "manifests")
    commit = _git(manifests, "rev-parse", "HEAD")
    loop = start_loop(
        manifests,
        "--interval",
        "1h",
        "--webhook-secret-env",
        "LOOP_HOOK_SECRET",
        env={"LOOP_HOOK_SECRET": HOOK_SECRET},
    )
    (first,) = loop.wait_passes(1)
    assert first["triggers"] == ["start"]
    assert first["commit"] == commit
    push = json.dumps({"ref": "refs/heads/main"}).encode()
    assert _github(loop, push, "forged-1", secret="guessed") == 401
    assert loop.post("/hooks/git", push, {"X-GitHub-Event": "push"}) == 401
    gitlab = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "wrong"}
    assert loop.post("/hooks/git", push, gitlab) == 401
    other = json.dumps({"ref": "refs/heads/feature"}).encode()
    assert _github(loop, other, "feature-1") == 204
    assert _github(loop, push, "good-1") == 202
    eventually(lambda: "webhook github good-1" in _triggers(loop), "the pushed pass")
    gitlab = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": HOOK_SECRET}
    assert loop.post("/hooks/git", push, {**gitlab, "X-Gitlab-Event-UUID": "gl-1"}) == 202
    eventually(lambda: "webhook gitlab gl-1" in _triggers(loop), "the GitLab pass")
    # pushes at once: passes are folded together and never overlap
    deliveries = [f"burst-{i}" for i in range(5)]
    senders = [threading.Thread(target=_github, args=(loop, push, d)) for d in deliveries]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    eventually(lambda: set(deliveries) <= {t.split()[-1] for t in _triggers(loop)}, "bursts")
    passes = loop.passes()
    assert not [t for t in _triggers(loop) if "forged" in t or "feature" in t]
    assert [p["pass"] for p in passes] == list(range(1, len(passes) + 1))
    for earlier, later in itertools.pairwise(passes):
        assert _ends(earlier) <= _starts(later) + 0.002
    assert f'reconciler_source_info{{commit="{commit}"}} 1.0' in loop.metrics()
    loop.signal()
    assert loop.wait() == 0


def _starts(summary: dict) -> float:  # type: ignore[type-arg]
    return datetime.fromisoformat(summary["start"].replace("Z", "+00:00")).timestamp()


def _ends(summary: dict) -> float:  # type: ignore[type-arg]
    return _starts(summary) + float(summary["duration_seconds"])


def test_failing_passes_make_it_unready_and_recovery_is_announced(  # type: ignore[no-untyped-def]
    run_cli, local_admin, stub, manifests, receiver, start_loop
) -> None:
    _apply(run_cli, local_admin, manifests)
    broken = manifests / "broken.yaml"
    broken.write_text("apiVersion: reconciler/v1\nkind: LaunchPlan\n")
    loop = start_loop(manifests, "--interval", "0.2s", "--notify", receiver.url)
    eventually(lambda: loop.wait_passes(3), "failing passes")
    readyz = loop.get("/readyz")
    assert readyz.status == 503
    assert "no pass has succeeded" in readyz.body
    assert 'reconciler_passes_total{result="error"}' in loop.metrics()
    assert loop.state()["last_pass"]["error"].startswith("invalid manifests")
    broken.unlink()
    eventually(lambda: loop.get("/readyz").status == 200, "ready after a good pass")
    eventually(lambda: len(receiver.received) >= 2, "the recovery")
    assert receiver.events() == ["pass_failed", "pass_recovered"]
    loop.signal()
    assert loop.wait() == 0


def _in_flight(run_cli, local_admin, stub, manifests, gate: Gate, start_loop, *args: str):  # type: ignore[no-untyped-def]
    """A loop whose self-heal is stuck in UpdateLaunchPlan (held by the gate)."""
    _apply(run_cli, local_admin, manifests)
    deactivate(stub)
    gate.armed.set()
    loop = start_loop(manifests, "--interval", "1h", "--self-heal", *args)
    assert gate.entered.wait(60), loop.err
    return loop


def test_sigterm_lets_the_operation_in_flight_finish_and_writes_state(  # type: ignore[no-untyped-def]
    run_cli, local_admin, stub, manifests, gate, start_loop, tmp_path
) -> None:
    loop = _in_flight(run_cli, local_admin, stub, manifests, gate, start_loop)
    loop.signal(signal.SIGTERM)
    eventually(lambda: "SIGTERM: stopping" in loop.err, "the loop to stop")
    assert loop.process.poll() is None  # still finishing what it started
    gate.released.set()
    assert loop.wait() == 0
    assert is_active(stub)
    state = json.loads((tmp_path / ".reconciler" / "reconcile-state.json").read_text())
    assert state["last_pass"]["healed"] == [LP_ADDRESS]
    assert state["resources"][0]["healed"] is True


def test_a_second_signal_exits_130_at_once(  # type: ignore[no-untyped-def]
    run_cli, local_admin, stub, manifests, gate, start_loop
) -> None:
    loop = _in_flight(run_cli, local_admin, stub, manifests, gate, start_loop)
    loop.signal(signal.SIGTERM)
    eventually(lambda: "SIGTERM: stopping" in loop.err, "the loop to stop")
    loop.signal(signal.SIGINT)
    assert loop.wait() == 130
    assert "SIGINT again: exiting now" in loop.err


def test_shutdown_gives_up_on_what_outlasts_the_timeout(  # type: ignore[no-untyped-def]
    run_cli, local_admin, stub, manifests, gate, start_loop
) -> None:
    loop = _in_flight(
        run_cli, local_admin, stub, manifests, gate, start_loop, "--shutdown-timeout", "0.5s"
    )
    loop.signal(signal.SIGTERM)
    assert loop.wait() == 0
    assert "operations still in flight after 0.5s" in loop.err
