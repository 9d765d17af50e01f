"""``${env:...}`` values never reach a plan, printed or saved, wherever the manifest uses them;
apply still sends them; rotating one is a visible, explained change."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from flyteidl.admin import common_pb2, execution_pb2, launch_plan_pb2
from flyteidl.core import identifier_pb2

from tests.engine.conftest import DOMAIN, PROJECT, settings

SECRETS = {
    "LP_ENV": "lp-env-value-4711",
    "LP_LABEL": "lp-label-value-4712",
    "LP_NOTE": "lp-annotation-value-4713",
    "LP_REGION": "lp-default-input-4714",
    "RUN_ENV": "run-env-value-4721",
    "RUN_LABEL": "run-label-value-4722",
    "RUN_NOTE": "run-annotation-value-4723",
    "RUN_DATE": "2026-11-30T00:00:00Z",
}
TREE = """\
apiVersion: reconciler/v1
kind: LaunchPlan
metadata: {name: daily}
spec:
  version: v1
  workflow: {name: wf, version: v1}
  defaultInputs: {region: "${env:LP_REGION}"}
  labels: {team: "${env:LP_LABEL}"}
  annotations: {note: "prefix ${env:LP_NOTE}"}
  envs: {TOKEN: "${env:LP_ENV}"}
---
apiVersion: reconciler/v1
kind: Execution
metadata: {name: run-1}
spec:
  launchPlan: {name: daily, version: v1}
  inputs: {run_date: "${env:RUN_DATE}", a: 1}
  labels: {ticket: "${env:RUN_LABEL}"}
  annotations: {why: "${env:RUN_NOTE}"}
  envs: {TOKEN: "${env:RUN_ENV}", OTHER: "Bearer ${env:RUN_ENV}"}
"""
ROTATING = """\
apiVersion: reconciler/v1
kind: LaunchPlan
metadata: {{name: rotating}}
spec:
  version: {version}
  workflow: {{name: wf, version: v1}}
  defaultInputs: {{run_date: 2026-11-30T00:00:00Z, a: 1}}
  envs: {{TOKEN: "${{env:TOKEN}}", MODE: plain}}
"""
LP = f"LaunchPlan/{PROJECT}/{DOMAIN}/rotating"


def _endpoint(admin) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    return ("--endpoint", admin.endpoint, "--insecure")


def _secret_free(text: str) -> None:
    for name, value in SECRETS.items():
        if name != "RUN_DATE":
            assert value not in text, f"{name}'s value leaked"


def test_saved_plan_holds_no_secret_anywhere_and_apply_still_sends_them(  # type: ignore[no-untyped-def]
    run_cli, local_admin, registered, stub, tmp_path, monkeypatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    root = settings(tmp_path / "manifests")
    (root / "tree.yaml").write_text(TREE)
    saved = tmp_path / "plan.json"

    for output in ("text", "json", "markdown"):
        shown = run_cli("plan", root, "-o", output, *_endpoint(local_admin))
        assert shown.code == 0, shown.err
        _secret_free(shown.out + shown.err)
    planned = run_cli("plan", root, "--out", saved, *_endpoint(local_admin))
    assert planned.code == 0, planned.err
    text = saved.read_text()
    _secret_free(text)
    for change in json.loads(text)["changes"]:
        for operation in change["operations"]:
            _secret_free(base64.b64decode(operation["request"]).decode("latin-1"))

    applied = run_cli("apply", "--plan", saved, "--auto-approve", *_endpoint(local_admin))
    assert applied.code == 0, applied.out + applied.err
    _secret_free(applied.out + applied.err)

    lp = stub.GetLaunchPlan(
        common_pb2.ObjectGetRequest(
            id=identifier_pb2.Identifier(
                resource_type=identifier_pb2.LAUNCH_PLAN,
                project=PROJECT,
                domain=DOMAIN,
                name="daily",
                version="v1",
            )
        )
    ).spec
    assert [(kv.key, kv.value) for kv in lp.envs.values] == [("TOKEN", SECRETS["LP_ENV"])]
    assert lp.labels.values["team"] == SECRETS["LP_LABEL"]
    assert lp.annotations.values["note"] == "prefix " + SECRETS["LP_NOTE"]
    region = lp.default_inputs.parameters["region"].default.scalar.primitive.string_value
    assert region == SECRETS["LP_REGION"]
    run = stub.GetExecution(
        execution_pb2.WorkflowExecutionGetRequest(
            id=identifier_pb2.WorkflowExecutionIdentifier(
                project=PROJECT, domain=DOMAIN, name="run-1"
            )
        )
    ).spec
    assert {kv.key: kv.value for kv in run.envs.values} == {
        "TOKEN": SECRETS["RUN_ENV"],
        "OTHER": "Bearer " + SECRETS["RUN_ENV"],
    }
    assert run.labels.values["ticket"] == SECRETS["RUN_LABEL"]
    assert run.annotations.values["why"] == SECRETS["RUN_NOTE"]

    again = run_cli("plan", root, "--detailed-exitcode", *_endpoint(local_admin))
    assert again.code == 0, again.out + again.err


def _plan(run_cli, admin, root: Path) -> dict:  # type: ignore[type-arg, no-untyped-def]
    result = run_cli("plan", root, "-o", "json", *_endpoint(admin))
    assert result.code == 0, result.err
    return {c["address"]: c for c in json.loads(result.out)["changes"]}


def _active_version(stub) -> str:  # type: ignore[no-untyped-def]
    active = stub.GetActiveLaunchPlan(
        launch_plan_pb2.ActiveLaunchPlanRequest(
            id=common_pb2.NamedEntityIdentifier(project=PROJECT, domain=DOMAIN, name="rotating")
        )
    )
    return str(active.id.version)


def test_rotating_a_secret_of_an_auto_launch_plan_registers_the_next_version_and_says_why(  # type: ignore[no-untyped-def]
    run_cli, local_admin, registered, stub, tmp_path, monkeypatch
) -> None:
    root = settings(tmp_path / "manifests")
    (root / "lp.yaml").write_text(ROTATING.format(version="auto"))
    monkeypatch.setenv("TOKEN", "first-token-1")
    assert run_cli("apply", root, "--auto-approve", *_endpoint(local_admin)).code == 0
    first = _active_version(stub)

    monkeypatch.setenv("TOKEN", "second-token-2")
    change = _plan(run_cli, local_admin, root)[LP]
    assert change["action"] == "create"
    assert change["after"]["version"] == f"{first}-2"
    assert "spec.envs.TOKEN" in change["reason"]
    assert first in change["reason"]
    assert "second-token-2" not in json.dumps(change)
    assert "first-token-1" not in json.dumps(change)
    applied = run_cli("apply", root, "--auto-approve", *_endpoint(local_admin))
    assert applied.code == 0, applied.out + applied.err
    assert _active_version(stub) == f"{first}-2"
    assert _plan(run_cli, local_admin, root)[LP]["action"] == "noop"

    # back to the first value: the version that holds it is activated again, nothing created
    monkeypatch.setenv("TOKEN", "first-token-1")
    back = _plan(run_cli, local_admin, root)[LP]
    assert back["action"] == "update"
    assert back["after"]["version"] == first


def test_rotating_a_secret_of_an_explicit_version_is_a_conflict_that_names_it(  # type: ignore[no-untyped-def]
    run_cli, local_admin, registered, tmp_path, monkeypatch
) -> None:
    root = settings(tmp_path / "manifests")
    (root / "lp.yaml").write_text(ROTATING.format(version="v5"))
    monkeypatch.setenv("TOKEN", "first-token-1")
    assert run_cli("apply", root, "--auto-approve", *_endpoint(local_admin)).code == 0

    monkeypatch.setenv("TOKEN", "second-token-2")
    change = _plan(run_cli, local_admin, root)[LP]
    assert change["action"] == "conflict"
    assert change["diff"] == [
        {"path": "spec.envs.TOKEN", "before": "(another value in Admin)", "after": "${env:TOKEN}"}
    ]
    text = run_cli("plan", root, *_endpoint(local_admin))
    assert "spec.envs.TOKEN" in text.out
    assert "first-token-1" not in text.out + text.err
    assert "second-token-2" not in text.out + text.err
