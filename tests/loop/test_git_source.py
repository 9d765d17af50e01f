"""``reconcile --repo URL --branch B --path DIR``: a clone of its own, fetched at every pass; the
branch tip is what is reconciled, and a fetch that fails fails the pass."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.loop.conftest import LP_ADDRESS, is_active


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def _publish(work: Path, message: str) -> str:
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", message)
    _git(work, "push", "-q", "origin", "HEAD:main")
    return _git(work, "rev-parse", "HEAD")


def _origin(tmp_path: Path, manifests: Path) -> tuple[Path, Path]:
    """A bare repository and a clone of it holding the manifests under deploy/."""
    origin = tmp_path / "origin.git"
    _git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    work = tmp_path / "work"
    _git(tmp_path, "clone", "-q", str(origin), str(work))
    (work / "deploy").mkdir()
    for file in manifests.iterdir():
        (work / "deploy" / file.name).write_text(file.read_text())
    return origin, work


def test_the_branch_tip_is_reconciled_and_a_failed_fetch_fails_the_pass(  # type: ignore[no-untyped-def]
    run_cli, local_admin, stub, manifests, tmp_path
) -> None:
    origin, work = _origin(tmp_path, manifests)
    first = _publish(work, "launch plan")

    def once(*args: str):  # type: ignore[no-untyped-def]
        return run_cli(
            "reconcile",
            "--repo",
            f"file://{origin}",
            "--branch",
            "main",
            "--path",
            "deploy",
            "--once",
            "--log-format",
            "json",
            "--endpoint",
            local_admin.endpoint,
            "--insecure",
            *args,
        )

    created = once("--self-heal")
    assert created.code == 0, created.out + created.err
    line = json.loads(created.out)
    assert line["commit"] == first
    assert line["healed"] == [LP_ADDRESS]
    assert is_active(stub)

    lp = work / "deploy" / "lp.yaml"
    lp.write_text(lp.read_text().replace("active: true", "active: false"))
    second = _publish(work, "pause the schedule")
    paused = once("--self-heal")
    assert paused.code == 0, paused.out + paused.err
    assert json.loads(paused.out)["commit"] == second
    assert not is_active(stub)

    origin.rename(tmp_path / "gone.git")
    failed = once()
    assert failed.code == 1
    assert "cannot fetch branch main of file://" in failed.err
    assert json.loads(failed.out)["result"] == "error"


def test_the_source_is_paths_or_a_repository(run_cli, manifests) -> None:  # type: ignore[no-untyped-def]
    both = run_cli("reconcile", manifests, "--repo", "https://example.com/r.git", "--once")
    assert both.code == 1
    assert "one of them" in both.err
    no_branch = run_cli("reconcile", "--repo", "https://example.com/r.git", "--once")
    assert "--repo needs --branch" in no_branch.err
    stray = run_cli("reconcile", manifests, "--branch", "main", "--once")
    assert "--branch and --path go with --repo" in stray.err


def test_a_loop_on_a_bare_repository_applies_a_pushed_commit_when_its_webhook_comes(  # type: ignore[no-untyped-def]
    local_admin, stub, manifests, start_loop, tmp_path
) -> None:
    from tests.loop.conftest import eventually
    from tests.loop.test_loop import HOOK_SECRET, _github

    origin, work = _origin(tmp_path, manifests)
    first = _publish(work, "launch plan")
    loop = start_loop(
        "--repo", f"file://{origin}", "--branch", "main", "--path", "deploy",
        "--interval", "1h", "--self-heal", "--webhook-secret-env", "LOOP_HOOK_SECRET",
        env={"LOOP_HOOK_SECRET": HOOK_SECRET},
    )  # fmt: skip
    (started,) = loop.wait_passes(1)
    assert started["commit"] == first
    assert is_active(stub)

    lp = work / "deploy" / "lp.yaml"
    lp.write_text(lp.read_text().replace("active: true", "active: false"))
    second = _publish(work, "pause the schedule")
    push = json.dumps({"ref": "refs/heads/main"}).encode()
    assert _github(loop, push, "forged-1", secret="guessed") == 401
    assert len(loop.passes()) == 1  # a forged push starts nothing
    assert is_active(stub)

    assert _github(loop, push, "pushed-1") == 202  # long before the 1h interval
    passes = loop.wait_passes(2)
    assert passes[-1]["commit"] == second
    assert passes[-1]["triggers"] == ["webhook github pushed-1"]
    eventually(lambda: True if not is_active(stub) else None, "the pushed commit applied")
    loop.signal()
    assert loop.wait() == 0
