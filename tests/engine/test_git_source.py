"""Git as the source: the commit a plan records, the label runs carry, and ``--ref`` reading
manifests from a revision without touching the working tree. Real repositories in tmp_path,
the local Admin over gRPC."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git
import pytest
from flyteidl.admin import execution_pb2
from flyteidl.core import identifier_pb2

from reconciler.localadmin import LocalAdmin
from tests.engine.conftest import DOMAIN, PROJECT

COMMIT_LABEL = "reconciler.flyte.org/commit"
SETTINGS = f"defaults: {{project: {PROJECT}, domain: {DOMAIN}}}\nownerId: team-manifests\n"
LAUNCH_PLAN = """\
apiVersion: reconciler/v1
kind: LaunchPlan
metadata: {{name: daily}}
spec:
  version: {version}
  workflow: {{name: wf, version: v1}}
  defaultInputs: {{a: 3}}
"""
RUN = """\
apiVersion: reconciler/v1
kind: Execution
metadata: {name: run-1}
spec:
  launchPlan: {name: daily}
  inputs: {run_date: 2026-11-30T00:00:00Z}
"""
LP = f"LaunchPlan/{PROJECT}/{DOMAIN}/daily"
RUN_1 = f"Execution/{PROJECT}/{DOMAIN}/run-1"


@dataclass(frozen=True)
class History:
    repo: git.Repo
    top: Path
    manifests: Path
    first: str  # the launch plan at v1
    with_run: str  # plus run-1 (tagged "with-run")
    latest: str  # the launch plan at v2 (HEAD)


def _commit(repo: git.Repo, message: str) -> str:
    repo.git.add("-A")
    repo.git.commit("-q", "-m", message)
    return str(repo.head.commit.hexsha)


@pytest.fixture
def history(tmp_path: Path) -> History:
    top = tmp_path / "repo"
    manifests = top / "manifests"
    manifests.mkdir(parents=True)
    repo = git.Repo.init(top)
    with repo.config_writer() as config:
        config.set_value("user", "name", "t")
        config.set_value("user", "email", "t@example.com")
    (top / "README.md").write_text("manifests for the reconciler\n")
    (top / ".gitignore").write_text("*.txt\n")
    (manifests / "reconciler.yaml").write_text(SETTINGS)
    (manifests / "lp.yaml").write_text(LAUNCH_PLAN.format(version="v1"))
    first = _commit(repo, "launch plan v1")
    (manifests / "runs.yaml").write_text(RUN)
    with_run = _commit(repo, "run-1")
    repo.create_tag("with-run")
    (manifests / "lp.yaml").write_text(LAUNCH_PLAN.format(version="v2"))
    latest = _commit(repo, "launch plan v2")
    return History(repo, top.resolve(), manifests, first, with_run, latest)


def _cli(run_cli, admin: LocalAdmin, *args: object):  # type: ignore[no-untyped-def]
    return run_cli(*args, "--endpoint", admin.endpoint, "--insecure")


def _ok(run_cli, admin: LocalAdmin, *args: object):  # type: ignore[no-untyped-def]
    result = _cli(run_cli, admin, *args)
    assert result.code == 0, result.out + result.err
    return result


def _plan(run_cli, admin: LocalAdmin, *args: object) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    result = _cli(run_cli, admin, "plan", *args, "-o", "json")
    assert result.code == 0, result.err
    data: dict[str, Any] = json.loads(result.out)
    return data


def _actions(plan: dict[str, Any]) -> dict[str, str]:
    return {c["address"]: c["action"] for c in plan["changes"]}


def _labels(stub: Any, name: str) -> dict[str, str]:
    execution = stub.GetExecution(
        execution_pb2.WorkflowExecutionGetRequest(
            id=identifier_pb2.WorkflowExecutionIdentifier(project=PROJECT, domain=DOMAIN, name=name)
        )
    )
    return dict(execution.spec.labels.values)


def _state(history: History) -> tuple[object, ...]:
    """Everything of the working tree --ref must leave alone (read without refreshing the
    index, which git status would otherwise rewrite)."""
    git_cmd = history.repo.git
    files = {
        str(p.relative_to(history.top)): p.read_bytes()
        for p in sorted(history.top.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(history.top).parts
    }
    return (
        git_cmd.execute(
            ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=all"]
        ),
        git_cmd.rev_parse("HEAD"),
        git_cmd.symbolic_ref("HEAD"),
        (history.top / ".git" / "index").read_bytes(),
        files,
    )


def test_plan_ref_reads_an_older_commit_and_leaves_the_working_tree_alone(
    run_cli, local_admin, registered, history
) -> None:  # type: ignore[no-untyped-def]
    _ok(run_cli, local_admin, "apply", history.manifests, "--ref", history.first, "--auto-approve")
    # the working tree moves on: edited, staged and untracked, reconciler.yaml included
    (history.manifests / "lp.yaml").write_text(LAUNCH_PLAN.format(version="v9"))
    (history.manifests / "reconciler.yaml").write_text(SETTINGS.replace(DOMAIN, "staging"))
    history.repo.git.add("manifests/reconciler.yaml")
    (history.manifests / "more.yaml").write_text(RUN.replace("run-1", "run-9"))
    before = _state(history)

    at_tag = _plan(run_cli, local_admin, history.manifests, "--ref", "with-run")
    # the revision's manifests and its reconciler.yaml (domain), none of the working tree's
    assert _actions(at_tag) == {LP: "noop", RUN_1: "create"}
    assert at_tag["source"] == {
        "repo": str(history.top),
        "commit": history.with_run,
        "ref": "with-run",
        "dirty": False,
    }
    assert list(at_tag)[:2] == ["format_version", "source"]
    # the commit applied above, abbreviated: nothing to do
    ref = history.first[:10]
    _ok(run_cli, local_admin, "plan", history.manifests, "--ref", ref, "--detailed-exitcode")
    _ok(run_cli, local_admin, "drift", history.manifests, "--ref", ref)
    branch = history.repo.active_branch.name  # git's default branch name is configurable
    latest = _ok(run_cli, local_admin, "plan", history.manifests, "--ref", branch, "-o", "markdown")
    assert f"`{LP}` | create |" in latest.out  # v2, committed last
    assert f"Source: `{history.top}` at `{history.latest[:12]}` (`--ref {branch}`)" in latest.out

    assert _state(history) == before  # files, index, HEAD and status exactly as they were


def test_apply_ref_labels_runs_with_that_commits_short_sha(
    run_cli, local_admin, registered, stub, history
) -> None:  # type: ignore[no-untyped-def]
    # the working tree asks for another run: not what --ref reads
    (history.manifests / "runs.yaml").write_text(RUN.replace("run-1", "run-2"))
    applied = _ok(
        run_cli, local_admin, "apply", history.manifests, "--ref", "with-run", "--auto-approve"
    )
    assert RUN_1 in applied.out
    assert "run-2" not in applied.out
    assert f"Source: {history.top} at {history.with_run[:12]} (--ref with-run)" in applied.out
    assert _labels(stub, "run-1")[COMMIT_LABEL] == history.with_run[:12]


def test_a_plan_saved_from_a_ref_keeps_its_source_and_settings_through_apply(
    run_cli, local_admin, registered, stub, history
) -> None:  # type: ignore[no-untyped-def]
    console = "console: {endpoint: https://flyte.example.com}\n"
    (history.manifests / "reconciler.yaml").write_text(SETTINGS + console)
    at = _commit(history.repo, "console links")
    (history.manifests / "reconciler.yaml").write_text(SETTINGS)  # the working tree has none
    saved = history.top.parent / "plan.json"
    planned = _cli(run_cli, local_admin, "plan", history.manifests, "--ref", at, "--out", saved)
    assert planned.code == 0, planned.err
    assert json.loads(saved.read_text())["source"]["commit"] == at
    applied = _cli(run_cli, local_admin, "apply", "--plan", saved, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert f"(--ref {at})" in applied.out.splitlines()[0]
    # reconciler.yaml as it was at the commit the plan read
    assert "https://flyte.example.com/console/projects/" in applied.out
    assert _labels(stub, "run-1")[COMMIT_LABEL] == at[:12]
    again = _cli(run_cli, local_admin, "apply", "--plan", saved, "--auto-approve")
    assert again.code == 1
    assert "the saved plan is stale" in again.err
    refused = _cli(run_cli, local_admin, "apply", "--plan", saved, "--ref", at)
    assert refused.code == 1
    assert "a saved plan already records its source" in refused.err


def test_the_working_tree_records_head_and_is_dirty_only_for_changed_manifests(
    run_cli, local_admin, registered, stub, history
) -> None:  # type: ignore[no-untyped-def]
    def source() -> dict[str, Any]:
        found: dict[str, Any] = _plan(run_cli, local_admin, history.manifests)["source"]
        return found

    clean = {"repo": str(history.top), "commit": history.latest, "ref": None, "dirty": False}
    assert source() == clean
    (history.top / "README.md").write_text("changed outside the manifests\n")
    (history.manifests / "notes.txt").write_text("ignored by .gitignore\n")
    assert source() == clean
    lp = history.manifests / "lp.yaml"
    lp.write_text(LAUNCH_PLAN.format(version="v3"))  # modified
    assert source()["dirty"] is True
    history.repo.git.add("manifests/lp.yaml")  # staged
    assert source()["dirty"] is True
    history.repo.git.reset("-q", "HEAD", "--", "manifests/lp.yaml")
    history.repo.git.checkout("--", "manifests/lp.yaml")
    assert source() == clean
    (history.manifests / "weekly.yaml").write_text(
        LAUNCH_PLAN.replace("daily", "weekly").format(version="v1")
    )  # untracked
    text = _cli(run_cli, local_admin, "plan", history.manifests)
    assert text.out.splitlines()[0] == (
        f"Source: {history.top} working tree, HEAD {history.latest[:12]} with uncommitted "
        f"changes to the manifests (runs are labelled {history.latest[:12]}-dirty)"
    )
    # a run launched from content HEAD does not hold never claims HEAD
    assert _cli(run_cli, local_admin, "apply", history.manifests, "--auto-approve").code == 0
    assert _labels(stub, "run-1")[COMMIT_LABEL] == f"{history.latest[:12]}-dirty"


def test_outside_git_there_is_no_source_and_no_commit_label(
    run_cli, local_admin, registered, stub, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "plain"
    root.mkdir()
    (root / "reconciler.yaml").write_text(SETTINGS)
    (root / "lp.yaml").write_text(LAUNCH_PLAN.format(version="v1"))
    (root / "runs.yaml").write_text(RUN)
    assert _plan(run_cli, local_admin, root)["source"] is None
    assert _cli(run_cli, local_admin, "apply", root, "--auto-approve").code == 0
    assert COMMIT_LABEL not in _labels(stub, "run-1")
    refused = _cli(run_cli, local_admin, "plan", root, "--ref", "HEAD")
    assert refused.code == 1
    assert f"error: --ref HEAD: {root} is not in a git repository" in refused.err


def test_ref_errors_name_the_revision_and_the_path(run_cli, history) -> None:  # type: ignore[no-untyped-def]
    unknown = run_cli("validate", history.manifests, "--ref", "no-such-branch")
    assert unknown.code == 1
    assert f"--ref no-such-branch: unknown revision in the repository {history.top}" in unknown.err
    later = history.manifests / "later"
    later.mkdir()
    (later / "lp.yaml").write_text(LAUNCH_PLAN.format(version="v1"))
    _commit(history.repo, "a later folder")
    missing = run_cli("plan", later, "--ref", history.first, "--endpoint", "127.0.0.1:1")
    assert missing.code == 1
    assert (
        f"--ref {history.first}: manifests/later does not exist at {history.first}"
        f" ({history.first[:12]})" in missing.err
    )


def test_validate_ref_checks_the_revision_and_names_its_files(run_cli, history) -> None:  # type: ignore[no-untyped-def]
    lp = history.manifests / "lp.yaml"
    lp.write_text(LAUNCH_PLAN.format(version="v1").replace("defaultInputs", "defaultInput"))
    broken = _commit(history.repo, "a typo")
    lp.write_text(LAUNCH_PLAN.format(version="v1"))  # fixed in the working tree only
    assert run_cli("validate", history.manifests).code == 0
    result = run_cli("validate", history.manifests, "--ref", broken[:12])
    assert result.code == 1
    assert (
        f"{broken[:12]}:manifests/lp.yaml:7:3: spec.defaultInput: unknown field 'defaultInput'"
        in result.out
    )
    assert run_cli("validate", history.manifests, "--ref", "with-run").code == 0


def test_a_revision_is_copied_without_links_that_leave_it(history, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from reconciler.manifests.source import manifests_at

    secret = tmp_path / "outside.yaml"
    secret.write_text("not part of the repository\n")
    (history.manifests / "inside.yaml").symlink_to("lp.yaml")
    (history.manifests / "escape.yaml").symlink_to(secret)
    (history.manifests / "climb.yaml").symlink_to("../../outside.yaml")
    (history.top / "tool.sh").write_text("#!/bin/sh\n")
    (history.top / "tool.sh").chmod(0o755)
    at = _commit(history.repo, "links")
    with manifests_at((history.manifests,), at) as snapshot:
        [copy] = snapshot.paths
        assert (copy / "inside.yaml").read_text() == LAUNCH_PLAN.format(version="v2")
        assert not (copy / "escape.yaml").exists()
        assert not (copy / "climb.yaml").is_symlink()
        assert (copy.parent / "tool.sh").stat().st_mode & 0o111
        assert snapshot.display is not None
        assert snapshot.display(copy / "lp.yaml") == f"{at}:manifests/lp.yaml"
    assert not copy.exists()  # removed afterwards
