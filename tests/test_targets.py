"""``--target``: its forms, and what a targeted manifest brings along (offline; the plans that
follow from it are tested against the local Admin in tests/engine/test_registration.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import UsageError
from reconciler.manifests.load import load_tree
from reconciler.manifests.targets import Target, select
from tests.conftest import write

TREE = """\
apiVersion: reconciler/v1
kind: Registration
metadata: {name: flows}
spec: {package: flows.tgz, version: auto}
---
apiVersion: reconciler/v1
kind: Registration
metadata: {name: pinned}
spec: {package: pinned.tgz, version: v9}
---
apiVersion: reconciler/v1
kind: Registration
metadata: {name: elsewhere, domain: other}
spec: {package: flows.tgz}
---
apiVersion: reconciler/v1
kind: LaunchPlan
metadata: {name: daily}
spec: {version: v1, workflow: {name: wf, version: v2}, schedule: {cron: '@daily'}}
---
apiVersion: reconciler/v1
kind: LaunchPlan
metadata: {name: adhoc}
spec: {version: v1, workflow: {name: wf, version: v1}}
---
apiVersion: reconciler/v1
kind: Backfill
metadata: {name: fill}
spec: {launchPlan: {name: daily}, from: 2026-01-01, to: 2026-01-02}
---
apiVersion: reconciler/v1
kind: Execution
metadata: {name: run}
spec: {task: {name: t}, onFailure: {action: recover, maxAttempts: 2}}
---
apiVersion: reconciler/v1
kind: Signal
metadata: {name: go}
spec: {execution: run-r2, signalId: ok, approve: true}
"""


@pytest.fixture
def manifests(tmp_path: Path):  # type: ignore[no-untyped-def]
    write(tmp_path / "reconciler.yaml", "defaults: {project: p, domain: d}\n")
    write(tmp_path / "tree.yaml", TREE)
    tree = load_tree([tmp_path])
    assert tree.ok, [str(d) for d in tree.diagnostics]
    return tree.manifests


def _selected(manifests, *targets: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.address for m in select(manifests, targets).manifests]


def test_target_forms() -> None:
    assert Target.parse("LaunchPlan/daily") == Target(
        "LaunchPlan/daily", "LaunchPlan", None, "daily"
    )
    assert Target.parse("LaunchPlan/p/d/daily").scope == ("p", "d")
    signal = Target.parse("Signal/p/d/run/ok")
    assert (signal.scope, signal.name) == (("p", "d"), "run/ok")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Launchplan/daily", "unknown kind 'Launchplan' (did you mean 'LaunchPlan'?)"),
        ("LaunchPlan/p/daily", "expected KIND/NAME or KIND/PROJECT/DOMAIN/NAME"),
        ("LaunchPlan/p/d/x/y", "expected KIND/NAME or KIND/PROJECT/DOMAIN/NAME"),
        ("LaunchPlan/", "expected KIND/NAME or KIND/PROJECT/DOMAIN/NAME"),
        ("daily", "unknown kind 'daily'"),
    ],
)
def test_malformed_targets_are_refused(text: str, message: str) -> None:
    with pytest.raises(UsageError, match="^--target " + text) as raised:
        Target.parse(text)
    assert message in str(raised.value)


def test_an_exact_address_selects_one_project_and_domain(manifests) -> None:  # type: ignore[no-untyped-def]
    assert _selected(manifests, "Registration/p/d/flows") == ["Registration/p/d/flows"]
    assert _selected(manifests, "Registration/elsewhere") == ["Registration/p/other/elsewhere"]
    with pytest.raises(UsageError, match="no manifest matches"):
        select(manifests, ["Registration/p/other/flows"])


def test_a_backfill_brings_its_launch_plan_and_what_may_register_its_workflow(manifests) -> None:  # type: ignore[no-untyped-def]
    # 'pinned' registers v9, not the v2 the launch plan runs; 'elsewhere' is in another domain
    assert _selected(manifests, "Backfill/fill") == [
        "Registration/p/d/flows",
        "LaunchPlan/p/d/daily",
        "Backfill/p/d/fill",
    ]


def test_a_signal_brings_the_execution_whose_attempt_it_signals(manifests) -> None:  # type: ignore[no-untyped-def]
    # a task without a version may come from either registration in p/d: both are candidates
    # until their packages are read (see the next test)
    assert _selected(manifests, "Signal/go") == [
        "Registration/p/d/flows",
        "Registration/p/d/pinned",
        "Execution/p/d/run",
        "Signal/p/d/run-r2/ok",
    ]


def test_registrations_stay_only_when_they_register_what_is_used(manifests) -> None:  # type: ignore[no-untyped-def]
    selection = select(manifests, ["Execution/run"])
    flows = "Registration/p/d/flows"
    assert selection.keeps(flows, "p", "d", "abc", [("task", "t")])
    assert not selection.keeps(flows, "p", "d", "abc", [("task", "other"), ("workflow", "t")])
    targeted = select(manifests, ["Registration/flows", "Execution/run"])
    assert targeted.keeps(flows, "p", "d", "abc", [])


def test_plan_refuses_a_bad_target_before_reaching_admin(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "reconciler.yaml", "defaults: {project: p, domain: d}\n")
    write(tmp_path / "tree.yaml", TREE)
    result = run_cli("plan", tmp_path, "--target", "Signal/nope", "--endpoint", "127.0.0.1:1")
    assert result.code == 1
    assert result.err == (
        "error: --target Signal/nope: no manifest matches (use KIND/NAME or "
        "KIND/PROJECT/DOMAIN/NAME)\n"
    )
