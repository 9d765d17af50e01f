"""The status page over real HTTP on loopback: ``reconciler ui STATEFILE`` and ``reconciler
reconcile`` as subprocesses, the loop against the local Admin over real gRPC (the fixtures of
``tests/loop``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reconciler.loop.state import write_state_file
from tests.loop.conftest import (  # the loop's fixtures, for the tests here
    LAUNCH_PLAN,
    REPO,
    ReconcilerProcess,
    gate,
    get,
    local_admin,
    manifests,
    post,
    start_loop,
    stub,
)
from tests.ui.states import CONSOLE, EVIL

__all__ = ["gate", "get", "local_admin", "manifests", "post", "start_loop", "stub"]

ARTIFACTS = REPO / ".artifacts"
LISTEN = ("--listen", "127.0.0.1:0")
DAILY = "LaunchPlan/flytesnacks/development/daily"
NIGHTLY = "LaunchPlan/flytesnacks/development/nightly"

# Besides tests/loop's ``daily`` (whose region default is a secret from the environment):
MORE = """\
---
apiVersion: reconciler/v1
kind: LaunchPlan
metadata: {name: hourly}
spec:
  version: v1
  workflow: {name: wf, version: v1}
  active: true
  schedule: {cron: "0 * * * *", kickoffTimeInputArg: run_date}
  defaultInputs: {a: 1}
---
apiVersion: reconciler/v1
kind: LaunchPlan
metadata: {name: adhoc}
spec:
  version: v1
  workflow: {name: wf, version: v1}
  active: false
  defaultInputs: {a: 2}
---
apiVersion: reconciler/v1
kind: Execution
metadata: {name: report-2026-11}
spec:
  launchPlan: {name: daily}
  inputs: {run_date: 2026-11-30T00:00:00Z}
"""
# What the second commit adds: a launch plan with markup in an annotation (must show as text).
NEW_LAUNCH_PLAN = f"""\
apiVersion: reconciler/v1
kind: LaunchPlan
metadata: {{name: nightly}}
spec:
  version: v1
  workflow: {{name: wf, version: v1}}
  active: true
  schedule: {{cron: "0 2 * * *", kickoffTimeInputArg: run_date}}
  defaultInputs: {{a: 1}}
  annotations: {{runbook: "{EVIL}"}}
"""


ROW = re.compile(r"^<tr(?: class=(\w+))?><th>(?:<a href=c/(\w+)>)?([^<]+)", re.MULTILINE)


def rows(page: str) -> list[tuple[str, str, str]]:
    """(status, console id, name) of each resource row of the page (synced rows have no
    class)."""
    return [(css or "synced", ident, name) for css, ident, name in ROW.findall(page)]


@pytest.fixture
def serve_ui(tmp_path: Path) -> Iterator[Callable[[dict[str, Any]], ReconcilerProcess]]:
    """Write a state file and serve it with ``reconciler ui``."""
    started: list[ReconcilerProcess] = []

    def serve(state: dict[str, Any]) -> ReconcilerProcess:
        path = tmp_path / "state.json"
        write_state_file(path, state)
        environ = {**os.environ, "PYTHONPATH": str(REPO)}
        process = ReconcilerProcess(tmp_path, ["ui", str(path), *LISTEN], environ)
        started.append(process)
        return process

    yield serve
    for process in started:
        process.kill()


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@dataclass(frozen=True)
class Watched:
    """A loop (report only) over a tree whose first commit it applied and whose second it
    has not."""

    loop: ReconcilerProcess
    applied: str  # the commit the earlier --self-heal pass applied
    head: str  # the commit now in git


@pytest.fixture
def watched(  # type: ignore[no-untyped-def]
    stub, manifests: Path, start_loop, tmp_path: Path
) -> Watched:
    """Commit 1 (three launch plans and a run) is applied by ``reconcile --once --self-heal``;
    commit 2 adds ``nightly``; then a report-only loop runs every 0.3 s, on the same state
    file, with console links."""
    settings = manifests / "reconciler.yaml"
    settings.write_text(settings.read_text() + f"console: {{endpoint: {json.dumps(CONSOLE)}}}\n")
    (manifests / "lp.yaml").write_text(LAUNCH_PLAN + MORE)
    git(manifests, "init", "-q", "-b", "main")
    git(manifests, "add", ".")
    git(manifests, "commit", "-q", "-m", "launch plans")
    applied = git(manifests, "rev-parse", "HEAD")
    once = start_loop(manifests, "--once", "--self-heal")
    assert once.wait() == 0, once.out + once.err
    (manifests / "nightly.yaml").write_text(NEW_LAUNCH_PLAN)
    git(manifests, "add", ".")
    git(manifests, "commit", "-q", "-m", "nightly")
    head = git(manifests, "rev-parse", "HEAD")
    loop = start_loop(manifests, "--interval", "0.3s")
    loop.wait_passes(2)  # the --once pass is in the state file's history too
    return Watched(loop, applied, head)
