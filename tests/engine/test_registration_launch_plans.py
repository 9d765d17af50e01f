"""Launch plans that come in a ``pyflyte package`` archive are compared whole, their default
inputs included (Admin stores its expected inputs in their place)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.localadmin import LocalAdmin
from tests.engine.conftest import settings
from tests.engine.test_registration import REGISTRATION, _change, _run
from tests.engine.test_registration import _archive as archive

FLOWS = """\
from flytekit import LaunchPlan, task, workflow


@task
def double(a: int) -> int:
    return a * 2


@workflow
def pipeline(a: int = 3, b: int = 1) -> int:
    return double(a=a)


nightly = LaunchPlan.get_or_create(pipeline, name="nightly", default_inputs={{"a": {default}}})
"""


def _archive(root: Path, default: int) -> Path:
    package = root / "lppkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "flows.py").write_text(FLOWS.format(default=default))
    return archive(root, root / "flows.tgz", "lppkg")


@pytest.fixture
def running_admin(tmp_path: Path) -> Iterator[LocalAdmin]:
    with LocalAdmin(data_dir=tmp_path / "data", task_seconds=0.05, tick_interval=0.05) as admin:
        yield admin


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    return {d: _archive(tmp_path_factory.mktemp(f"default-{d}"), d) for d in (5, 7)}


def test_a_changed_launch_plan_default_under_the_same_version_is_a_conflict(  # type: ignore[no-untyped-def]
    run_cli, running_admin, archives, tmp_path
) -> None:
    root = settings(tmp_path / "manifests")
    (root / "reg.yaml").write_text(REGISTRATION.format(package=archives[5], version="v1"))
    applied = _run(run_cli, running_admin, "apply", root, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert _change(run_cli, running_admin, root)["action"] == "noop"

    (root / "reg.yaml").write_text(REGISTRATION.format(package=archives[7], version="v1"))
    change = _change(run_cli, running_admin, root)
    assert change["action"] == "conflict"
    assert "nightly" in change["reason"]
    # (the code changed too, so the task points at another code tarball)
    launch_plans = [d for d in change["diff"] if d["path"].startswith("launch_plans")]
    assert [(d["path"], d["before"], d["after"]) for d in launch_plans] == [
        ("launch_plans.nightly.default_inputs.a", 5, 7)
    ]
