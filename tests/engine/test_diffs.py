"""A plan's diff shows exactly what was compared: no server-filled defaults, nothing left out,
and never empty for a conflict."""

from __future__ import annotations

import json
from pathlib import Path

from tests.engine.conftest import DOMAIN, PROJECT, settings

LAUNCH_PLAN = """\
apiVersion: reconciler/v1
kind: LaunchPlan
metadata: {{name: daily}}
spec:
  version: v1
  workflow: {{name: wf, version: v1}}
  securityContext: {{runAs: {{executionIdentity: {identity}}}}}
"""
EXECUTION = """\
apiVersion: reconciler/v1
kind: Execution
metadata: {{name: run-1}}
spec:
  launchPlan: {{name: daily{version}}}
  inputs: {{run_date: 2026-11-30T00:00:00Z, a: {a}{extra}}}
"""
LP = f"LaunchPlan/{PROJECT}/{DOMAIN}/daily"
RUN = f"Execution/{PROJECT}/{DOMAIN}/run-1"


def _write(root: Path, *, identity: str = "alice", a: int = 2, version: str = "", extra: str = ""):  # type: ignore[no-untyped-def]
    (root / "lp.yaml").write_text(LAUNCH_PLAN.format(identity=identity))
    (root / "run.yaml").write_text(EXECUTION.format(a=a, version=version, extra=extra))


def _plan(run_cli, admin, root: Path) -> dict:  # type: ignore[type-arg, no-untyped-def]
    result = run_cli("plan", root, "-o", "json", "--endpoint", admin.endpoint, "--insecure")
    assert result.code == 0, result.err
    return {c["address"]: c for c in json.loads(result.out)["changes"]}


def _apply(run_cli, admin, root: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("apply", root, "--auto-approve", "--endpoint", admin.endpoint, "--insecure")
    assert result.code == 0, result.out + result.err


def test_changed_input_shows_as_the_diff_without_server_defaults(  # type: ignore[no-untyped-def]
    run_cli, local_admin, registered, tmp_path
) -> None:
    root = settings(tmp_path / "m")
    _write(root, a=2)
    _apply(run_cli, local_admin, root)

    _write(root, a=3)
    change = _plan(run_cli, local_admin, root)[RUN]
    assert change["action"] == "conflict"
    assert change["diff"] == [{"path": "spec.inputs.a", "before": 2, "after": 3}]


def test_an_input_now_given_shows_the_value_the_run_got_by_default(  # type: ignore[no-untyped-def]
    run_cli, local_admin, registered, tmp_path
) -> None:
    root = settings(tmp_path / "m")
    _write(root, a=2)
    _apply(run_cli, local_admin, root)

    _write(root, a=2, extra=", region: us")  # region defaulted to "eu"
    change = _plan(run_cli, local_admin, root)[RUN]
    assert change["action"] == "conflict"
    assert change["diff"] == [{"path": "spec.inputs.region", "before": "eu", "after": "us"}]


def test_a_conflict_no_field_explains_shows_the_compared_digests(  # type: ignore[no-untyped-def]
    run_cli, local_admin, registered, tmp_path
) -> None:
    root = settings(tmp_path / "m")
    _write(root, a=2)
    _apply(run_cli, local_admin, root)

    _write(root, a=2, extra=", region: eu")  # the default value, written out
    change = _plan(run_cli, local_admin, root)[RUN]
    assert change["action"] == "conflict"
    [entry] = change["diff"]
    assert entry["path"] == "metadata.labels.reconciler.flyte.org/spec"
    assert entry["before"] != entry["after"]


def test_owner_change_alone_is_not_a_launch_plan_conflict(  # type: ignore[no-untyped-def]
    run_cli, local_admin, registered, tmp_path
) -> None:
    root = settings(tmp_path / "m", owner="team-a")
    _write(root)
    _apply(run_cli, local_admin, root)

    settings(root, owner="team-b")
    assert _plan(run_cli, local_admin, root)[LP]["action"] == "noop"


def test_execution_identity_change_is_a_conflict_that_shows_it(  # type: ignore[no-untyped-def]
    run_cli, local_admin, registered, tmp_path
) -> None:
    root = settings(tmp_path / "m")
    _write(root, identity="alice")
    _apply(run_cli, local_admin, root)

    _write(root, identity="bob")
    change = _plan(run_cli, local_admin, root)[LP]
    assert change["action"] == "conflict"
    assert change["diff"] == [{"path": "spec.executionIdentity", "before": "alice", "after": "bob"}]
