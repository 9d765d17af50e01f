"""A plan's diff shows exactly what was compared: no server-filled defaults, nothing left out,
and never empty for a conflict."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from flyteidl.admin import launch_plan_pb2
from flyteidl.core import execution_pb2, identifier_pb2
from flyteidl.service import admin_pb2_grpc

from reconciler.kinds import KINDS
from reconciler.localadmin import LocalAdmin, ManualClock
from tests.engine.conftest import DOMAIN, PROJECT, register_example, settings
from tests.localadmin import builders as b

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


# --- every kind: a conflict or an update always says what differs ---------------------------

Scenario = Callable[[Any, LocalAdmin, Any, Path], "dict[str, Any]"]
"""(run_cli, local Admin, its stub, a folder) -> the change a second plan makes, which must be
a conflict or an update."""


def _package(folder: Path, image: str) -> Path:
    """A package folder as ``pyflyte package`` lays it out: task ``t`` (its image given),
    workflow ``wf`` running it, and the workflow's launch plan."""
    folder.mkdir(parents=True, exist_ok=True)
    task = identifier_pb2.Identifier(resource_type=identifier_pb2.TASK, name="t")
    task_spec = b.task_spec(image=image)
    task_spec.template.id.CopyFrom(task)
    workflow = identifier_pb2.Identifier(resource_type=identifier_pb2.WORKFLOW, name="wf")
    plan = launch_plan_pb2.LaunchPlan(
        id=identifier_pb2.Identifier(resource_type=identifier_pb2.LAUNCH_PLAN, name="wf"),
        spec=b.lp_spec(workflow=workflow),
    )
    for name, message in (
        ("01_t_1.pb", task_spec),
        ("02_wf_2.pb", b.workflow_spec(task=task)),
        ("03_wf_3.pb", plan),
    ):
        (folder / name).write_bytes(message.SerializeToString())
    return folder


REGISTRATION = """\
apiVersion: reconciler/v1
kind: Registration
metadata: {{name: flows}}
spec: {{package: {package}, version: v9, activateLaunchPlans: {activate}}}
"""


def _registration(run_cli, admin, root: Path, *, image: str, activate: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    (root / "reg.yaml").write_text(
        REGISTRATION.format(package=_package(root.parent / image, image), activate=activate)
    )
    return _plan(run_cli, admin, root)[f"Registration/{PROJECT}/{DOMAIN}/flows"]  # type: ignore[no-any-return]


def _registration_conflict(run_cli, admin, stub, tmp_path: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    root = settings(tmp_path / "m")
    _registration(run_cli, admin, root, image="python:3.11", activate="false")
    _apply(run_cli, admin, root)
    return _registration(run_cli, admin, root, image="python:3.12", activate="false")


def _registration_activation(run_cli, admin, stub, tmp_path: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    root = settings(tmp_path / "m")
    _registration(run_cli, admin, root, image="python:3.11", activate="false")
    _apply(run_cli, admin, root)
    return _registration(run_cli, admin, root, image="python:3.11", activate="true")


def _launch_plan(run_cli, admin, stub, tmp_path: Path, *, second: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    register_example(stub)
    root = settings(tmp_path / "m")
    first = "spec: {version: v1, workflow: {name: wf, version: v1}, active: false}\n"
    head = "apiVersion: reconciler/v1\nkind: LaunchPlan\nmetadata: {name: daily}\n"
    (root / "lp.yaml").write_text(head + first)
    _apply(run_cli, admin, root)
    (root / "lp.yaml").write_text(head + second)
    return _plan(run_cli, admin, root)[LP]  # type: ignore[no-any-return]


def _launch_plan_conflict(run_cli, admin, stub, tmp_path: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    second = (
        "spec: {version: v1, workflow: {name: wf, version: v1}, active: false, labels: {a: b}}\n"
    )
    return _launch_plan(run_cli, admin, stub, tmp_path, second=second)


def _launch_plan_activation(run_cli, admin, stub, tmp_path: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    second = "spec: {version: v1, workflow: {name: wf, version: v1}, active: true}\n"
    return _launch_plan(run_cli, admin, stub, tmp_path, second=second)


def _execution_conflict(run_cli, admin, stub, tmp_path: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    register_example(stub)
    root = settings(tmp_path / "m")
    _write(root, a=2)
    _apply(run_cli, admin, root)
    _write(root, a=3)
    return _plan(run_cli, admin, root)[RUN]  # type: ignore[no-any-return]


SIGNAL = """\
apiVersion: reconciler/v1
kind: Execution
metadata: {{name: run-g}}
spec: {{launchPlan: {{name: gated, version: v1}}, inputs: {{a: 1}}}}
---
apiVersion: reconciler/v1
kind: Signal
metadata: {{name: go}}
spec: {{execution: run-g, signalId: ok, {answer}}}
"""


def _signal_conflict(run_cli, admin, stub, tmp_path: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    register_example(stub)
    b.register_gated(stub)
    root = settings(tmp_path / "m")
    (root / "run.yaml").write_text(SIGNAL.format(answer="approve: true"))
    _apply(run_cli, admin, root)  # launches the run
    admin.advance(60)  # it reaches the gate
    _apply(run_cli, admin, root)  # approves
    (root / "run.yaml").write_text(SIGNAL.format(answer="reject: true"))
    return _plan(run_cli, admin, root)[f"Signal/{PROJECT}/{DOMAIN}/run-g/ok"]  # type: ignore[no-any-return]


def _project_update(run_cli, admin, stub, tmp_path: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    root = settings(tmp_path / "m")
    project = "apiVersion: reconciler/v1\nkind: Project\nmetadata: {{name: acme}}\nspec: {spec}\n"
    (root / "project.yaml").write_text(project.format(spec="{description: first}"))
    _apply(run_cli, admin, root)
    (root / "project.yaml").write_text(project.format(spec="{description: second}"))
    return _plan(run_cli, admin, root)["Project/acme/-/acme"]  # type: ignore[no-any-return]


def _attributes_update(run_cli, admin, stub, tmp_path: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    root = settings(tmp_path / "m")
    attributes = (
        "apiVersion: reconciler/v1\nkind: Attributes\n"
        f"metadata: {{{{name: queues, domain: {DOMAIN}}}}}\n"
        "spec: {{executionQueue: {{tags: [{tag}]}}}}\n"
    )
    (root / "attributes.yaml").write_text(attributes.format(tag="gpu"))
    _apply(run_cli, admin, root)
    (root / "attributes.yaml").write_text(attributes.format(tag="cpu"))
    return _plan(run_cli, admin, root)[f"Attributes/{PROJECT}/{DOMAIN}/queues"]  # type: ignore[no-any-return]


SCENARIOS: dict[str, tuple[tuple[str, Scenario], ...]] = {
    # projects and attributes change in place: never a conflict
    "Project": (("update", _project_update),),
    "Attributes": (("update", _attributes_update),),
    "Registration": (("conflict", _registration_conflict), ("update", _registration_activation)),
    "LaunchPlan": (("conflict", _launch_plan_conflict), ("update", _launch_plan_activation)),
    "Execution": (("conflict", _execution_conflict),),
    # A backfill is never in conflict nor updated: a wider window is a new run (create).
    "Backfill": (),
    "Signal": (("conflict", _signal_conflict),),
}


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_a_conflict_or_an_update_of_every_kind_shows_what_differs(  # type: ignore[no-untyped-def]
    kind, run_cli, tmp_path
) -> None:
    """Over ``KINDS``: a new kind fails here until it says how it conflicts or updates."""
    assert kind.name in SCENARIOS, f"add the conflicts and updates of {kind.name} to SCENARIOS"
    for index, (action, scenario) in enumerate(SCENARIOS[kind.name]):
        folder = tmp_path / str(index)
        with (
            LocalAdmin(clock=ManualClock(), data_dir=folder / "admin-data") as admin,
            grpc.insecure_channel(admin.endpoint) as channel,
        ):
            stub = admin_pb2_grpc.AdminServiceStub(channel)
            change = scenario(run_cli, admin, stub, folder)
        assert change["action"] == action, (scenario.__name__, change)
        assert change["diff"], (scenario.__name__, change)
        assert all(d["before"] != d["after"] for d in change["diff"]), change["diff"]


def test_a_difference_no_manifest_field_says_is_a_conflict_that_names_admin_s_field(  # type: ignore[no-untyped-def]
    run_cli, local_admin, stub, registered, tmp_path
) -> None:
    """Another tool registered the version with a setting no manifest field holds: it is
    compared (the version is not what git asks for) and shown under Admin's field name."""
    root = settings(tmp_path / "m")
    _write(root)
    planned = _plan(run_cli, local_admin, root)[LP]
    [create, _activate] = planned["operations"]
    request = launch_plan_pb2.LaunchPlanCreateRequest()
    request.ParseFromString(base64.b64decode(create["request"]))
    request.spec.quality_of_service.tier = execution_pb2.QualityOfService.HIGH
    stub.CreateLaunchPlan(request)

    change = _plan(run_cli, local_admin, root)[LP]
    assert change["action"] == "conflict"
    # (before this form, the diff showed only the state, the one thing the view had)
    assert change["diff"] == [
        {"path": "spec.active", "before": False, "after": True},
        {"path": "spec.quality_of_service", "before": {"tier": "HIGH"}, "after": None},
    ]
