"""What the reliability tests share: ``reconciler`` as a separate process, a local Admin whose
SQLite file can be saved and started again from, and Admin's state read back over gRPC in a
form two runs can be compared in (and checked for duplicates).

Sizes: the tests run CI-sized by default; ``make reliability`` sets ``RELIABILITY_FULL=1`` (every
crash point, more fault seeds, more concurrent rounds). ``RELIABILITY_CRASH_POINTS`` (a count,
``all`` or ``FIRST-LAST``) and ``RELIABILITY_FAULT_SEEDS`` (a count) override either.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from flyteidl.admin import (
    common_pb2,
    execution_pb2,
    launch_plan_pb2,
    signal_pb2,
)
from flyteidl.core import execution_pb2 as core_execution_pb2
from flyteidl.service import admin_pb2_grpc, signal_pb2_grpc

from reconciler.localadmin import LocalAdmin, ManualClock
from reconciler.localadmin.faults import Faults
from tests.reliability.tree import DEVELOPMENT, PRODUCTION, PROJECTS, REPO

PAIRS = PRODUCTION + DEVELOPMENT
FULL = os.environ.get("RELIABILITY_FULL", "") not in ("", "0")
PROCESS_TIMEOUT = 180.0
Mode = execution_pb2.ExecutionMetadata.ExecutionMode
Phase = core_execution_pb2.WorkflowExecution.Phase


def crash_points(total: int) -> list[int]:
    """The call numbers after which the crash test kills apply: all of them in the full run, an
    even spread of 10 (first and last included) otherwise. ``RELIABILITY_CRASH_POINTS`` is
    ``all``, a count to spread, or a range ``FIRST-LAST``."""
    wanted = os.environ.get("RELIABILITY_CRASH_POINTS", "all" if FULL else "10")
    if "-" in wanted:
        first, last = (int(n) for n in wanted.split("-", 1))
        return list(range(max(first, 1), min(last, total) + 1))
    if wanted == "all" or int(wanted) >= total:
        return list(range(1, total + 1))
    count = max(int(wanted), 2)
    return sorted({1 + round(i * (total - 1) / (count - 1)) for i in range(count)})


def fault_seeds() -> list[int]:
    return list(range(1, 1 + int(os.environ.get("RELIABILITY_FAULT_SEEDS", "8" if FULL else "1"))))


@functools.cache
def _home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="reliability-home-"))
    atexit.register(shutil.rmtree, home, True)
    return home


def environment() -> dict[str, str]:
    """This worktree's code for the child (whatever the venv's editable install points at), and
    no developer's flytectl config or ``FLYTE_*`` variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLYTE")}
    return {**env, "PYTHONPATH": str(REPO), "NO_COLOR": "1", "HOME": str(_home())}


def command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "reconciler", *(str(a) for a in args)]


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def run(*args: str | Path, endpoint: str, cwd: Path | None = None) -> Ran:
    """``reconciler ARGS --endpoint ENDPOINT --insecure`` as a process, to its end."""
    done = subprocess.run(
        command(*args, "--endpoint", endpoint, "--insecure"),
        capture_output=True,
        text=True,
        env=environment(),
        cwd=cwd or _home(),
        timeout=PROCESS_TIMEOUT,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def spawn(*args: str | Path, endpoint: str, out: Path) -> subprocess.Popen[bytes]:
    """Start ``reconciler ARGS`` in the background, stdout and stderr to ``out``."""
    with out.open("wb") as sink:
        return subprocess.Popen(
            command(*args, "--endpoint", endpoint, "--insecure"),
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=environment(),
            cwd=_home(),  # nothing a command writes next to its cwd lands in the worktree
        )


def finish(process: subprocess.Popen[bytes], out: Path) -> Ran:
    try:
        code = process.wait(timeout=PROCESS_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return Ran(code, out.read_text("utf-8", errors="replace"), "")


# --- a local Admin that can be saved and started again ---------------------------------------


@dataclass(frozen=True)
class Saved:
    """A stopped local Admin's database and data directory, copied aside, and its simulated time.

    Restored to the directory it was saved from: the code tarball's URL that registered tasks
    carry names that directory, as a bucket's URL would stay the same."""

    copy: Path
    now: float


@contextmanager
def serve(
    live: Path,
    saved: Saved | None = None,
    *,
    faults: Faults | None = None,
    interceptors: Sequence[grpc.ServerInterceptor] = (),
) -> Iterator[LocalAdmin]:
    """A local Admin on a manual clock with its state in ``live`` (what ``saved`` holds, or
    fresh with the tests' projects)."""
    if live.exists():
        shutil.rmtree(live)
    if saved is not None:
        shutil.copytree(saved.copy, live)
        clock = ManualClock(saved.now)
    else:
        live.mkdir(parents=True)
        clock = ManualClock()
    admin = LocalAdmin(
        db=live / "admin.db",
        data_dir=live / "data",
        clock=clock,
        faults=faults,
        interceptors=interceptors,
    )
    with admin:
        for project in PROJECTS:
            admin.projects.ensure_project(project)
        yield admin


def save(admin: LocalAdmin, where: Path) -> Saved:
    """Stop ``admin`` (its file then holds everything) and copy its state to ``where``."""
    now = admin.clock.now()
    live = Path(admin.store.path).parent
    admin.stop()
    shutil.copytree(live, where)
    return Saved(where, now)


# --- Admin's state, read back ----------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """What apply wrote, in a form two runs can be compared in.

    ``runs``: every execution not started by a node, by project/domain/name: (launch plan name,
    launch plan version, mode, reference execution name, phase). ``active``: the active launch
    plan versions by project/domain/name (several per name would be a defect). ``signals``: the
    signals set. ``entities``: how many tasks, workflows and launch plans of each name and
    version exist."""

    runs: dict[str, tuple[str, str, str, str, str]]
    active: dict[str, list[str]]
    signals: dict[str, str]
    entities: dict[str, int]

    def problems(self) -> list[str]:
        """Duplicates, whatever the expected state: a second active version, a run of a name
        this tree never asks for."""
        found = [
            f"{key}: several active versions {v}" for key, v in self.active.items() if len(v) > 1
        ]
        for key in self.runs:
            name = key.rsplit("/", 1)[-1]
            if not _EXPECTED_NAME.match(name):
                found.append(f"unexpected run {key}")
        return found


_EXPECTED_NAME = re.compile(
    r"^(adhoc-[123]|close-[abc]|flaky-(recover|relaunch)(-r1)?|daily-oct(-2)?|daily-sep)$"
)


def read_state(endpoint: str) -> State:
    with grpc.insecure_channel(endpoint) as channel:
        admin = admin_pb2_grpc.AdminServiceStub(channel)
        signals = signal_pb2_grpc.SignalServiceStub(channel)
        runs: dict[str, tuple[str, str, str, str, str]] = {}
        active: dict[str, list[str]] = {}
        set_signals: dict[str, str] = {}
        entities: dict[str, int] = {}
        for project, domain in PAIRS:
            scope = common_pb2.NamedEntityIdentifier(project=project, domain=domain)
            for execution in _all(admin.ListExecutions, common_pb2.ResourceListRequest(id=scope)):
                if execution.spec.metadata.HasField("parent_node_execution"):
                    continue
                lp = execution.spec.launch_plan
                runs[f"{project}/{domain}/{execution.id.name}"] = (
                    lp.name,
                    lp.version,
                    Mode.Name(execution.spec.metadata.mode),
                    execution.spec.metadata.reference_execution.name,
                    Phase.Name(execution.closure.phase),
                )
                for signal in _all(
                    signals.ListSignals,
                    signal_pb2.SignalListRequest(workflow_execution_id=execution.id),
                    items="signals",
                ):
                    if signal.value.ByteSize():
                        key = f"{project}/{domain}/{execution.id.name}/{signal.id.signal_id}"
                        set_signals[key] = str(signal.value).replace("\n", " ")
            for lp in _all(
                admin.ListActiveLaunchPlans,
                launch_plan_pb2.ActiveLaunchPlanListRequest(project=project, domain=domain),
            ):
                active.setdefault(f"{project}/{domain}/{lp.id.name}", []).append(lp.id.version)
            for listing, kind in (
                (admin.ListTasks, "task"),
                (admin.ListWorkflows, "workflow"),
                (admin.ListLaunchPlans, "launch_plan"),
            ):
                for name in _names(admin, project, domain, kind):
                    request = common_pb2.ResourceListRequest(
                        id=common_pb2.NamedEntityIdentifier(
                            project=project, domain=domain, name=name
                        )
                    )
                    for entity in _all(listing, request, items=f"{kind}s"):
                        key = f"{kind}/{project}/{domain}/{name}/{entity.id.version}"
                        entities[key] = entities.get(key, 0) + 1
    return State(runs, {k: sorted(v) for k, v in active.items()}, set_signals, entities)


def _names(admin: Any, project: str, domain: str, kind: str) -> list[str]:
    request = common_pb2.NamedEntityIdentifierListRequest(project=project, domain=domain)
    method = {
        "task": admin.ListTaskIds,
        "workflow": admin.ListWorkflowIds,
        "launch_plan": admin.ListLaunchPlanIds,
    }[kind]
    return sorted({e.name for e in _all(method, request, items="entities")})


def _all(method: Any, request: Any, items: str | None = None) -> Iterator[Any]:
    """Every item of a List call, page by page."""
    field = items or (
        "launch_plans"
        if isinstance(request, launch_plan_pb2.ActiveLaunchPlanListRequest)
        else "executions"
    )
    request.limit = 100
    request.token = ""
    while True:
        response = method(request, timeout=30)
        yield from getattr(response, field)
        if not response.token:
            return
        request.token = response.token


def state_difference(got: State, want: State) -> list[str]:
    """Each way ``got`` differs from ``want``, one line each."""
    lines: list[str] = []
    for label, mine, theirs in (
        ("run", got.runs, want.runs),
        ("active", got.active, want.active),
        ("signal", got.signals, want.signals),
        ("entity", got.entities, want.entities),
    ):
        for key in sorted(set(mine) | set(theirs)):
            if mine.get(key) != theirs.get(key):
                lines.append(f"{label} {key}: {mine.get(key)} instead of {theirs.get(key)}")
    return lines
