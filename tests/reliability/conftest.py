"""Fixtures of the reliability tests: the package, the base stage applied and saved, and the
full stage applied to it undisturbed (the reference)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.localadmin.faults import KillClient
from tests.reliability import support
from tests.reliability.tree import build_package, write_tree


@pytest.fixture(scope="session")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real ``pyflyte package`` archive of the example workflows, built once."""
    return build_package(tmp_path_factory.mktemp("package") / "reports.tgz")


@dataclass(frozen=True)
class Base:
    """The base stage applied to a fresh local Admin and an hour passed (runs failed, gates
    reached), saved; ``live`` is the directory every test serves it from again."""

    saved: support.Saved
    live: Path


@pytest.fixture(scope="session")
def base(package: Path, tmp_path_factory: pytest.TempPathFactory) -> Base:
    where = tmp_path_factory.mktemp("base")
    root = write_tree(where / "tree", package, "base")
    live = where / "live"
    with support.serve(live) as admin:
        applied = support.run("apply", root, "--auto-approve", endpoint=admin.endpoint)
        assert applied.code == 0, applied.text
        admin.advance(3600)
        saved = support.save(admin, where / "saved")
    return Base(saved, live)


@dataclass(frozen=True)
class Reference:
    """The full stage's tree, applied once to the saved base by an apply nobody disturbs: how
    many calls it makes and the state it leaves (what every disturbed apply must end with)."""

    root: Path
    calls: int
    state: support.State


@pytest.fixture(scope="session")
def reference(base: Base, package: Path, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    root = write_tree(tmp_path_factory.mktemp("full") / "tree", package, "full")
    counter = KillClient(0)  # kills nobody; counts the calls
    with support.serve(base.live, base.saved, interceptors=[counter]) as admin:
        applied = support.run("apply", root, "--auto-approve", endpoint=admin.endpoint)
        assert applied.code == 0, applied.text
        calls = counter.calls
        state = support.read_state(admin.endpoint)
    assert state.problems() == []
    # every kind of write is in the run: the tests would not notice a path it never takes
    modes = {run[2] for run in state.runs.values()}
    assert {"RECOVERED", "RELAUNCH"} <= modes
    assert any(name.endswith("daily-oct-2") for name in state.runs)
    assert any(run[4] == "ABORTING" for run in state.runs.values())
    assert len(state.signals) == 2
    return Reference(root, calls, state)
