"""Names and values that validate but are odd, planned and applied against the local Admin.
Each was found by the manifest fuzz tests (tests/fuzz) as an internal error."""

from __future__ import annotations

import json

from flyteidl.admin import execution_pb2
from flyteidl.core import identifier_pb2

from tests.engine.conftest import DOMAIN, PROJECT, settings

ODD_LAUNCH_PLAN = """\
apiVersion: reconciler/v1
kind: LaunchPlan
metadata: {name: "report(eu),daily;v+2"}
spec:
  version: v1
  workflow: {name: wf, version: v1}
  defaultInputs: {a: 1, run_date: 2026-01-01T00:00:00Z}
"""
PASSWORD_ENV = """\
apiVersion: reconciler/v1
kind: Execution
metadata: {name: run-pw}
spec:
  launchPlan: {name: wf, version: v1}
  inputs: {a: 1, run_date: 2026-01-01T00:00:00Z}
  envs: {PASSWORD: "${env:PASSWORD}"}
"""


def _endpoint(admin) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    return ("--endpoint", admin.endpoint, "--insecure")


def test_a_launch_plan_name_holding_filter_delimiters_is_read_by_name(  # type: ignore[no-untyped-def]
    run_cli, local_admin, registered, tmp_path
) -> None:
    # Admin's list filters cannot hold ",", "(", ")", "+" or ";": planning such a name used to
    # fail building the filter; now it is read by name, so apply is followed by a no-op.
    root = settings(tmp_path / "manifests")
    (root / "lp.yaml").write_text(ODD_LAUNCH_PLAN)
    first = run_cli("plan", root, "-o", "json", *_endpoint(local_admin))
    assert first.code == 0, first.err
    assert [c["action"] for c in json.loads(first.out)["changes"]] == ["create"]
    applied = run_cli("apply", root, "--auto-approve", *_endpoint(local_admin))
    assert applied.code == 0, applied.out + applied.err
    again = run_cli("plan", root, "--detailed-exitcode", *_endpoint(local_admin))
    assert again.code == 0, again.out + again.err


def test_a_secret_holding_a_dollar_brace_is_a_value_not_a_reference(  # type: ignore[no-untyped-def]
    run_cli, local_admin, registered, stub, tmp_path, monkeypatch
) -> None:
    # Resolved values were validated again as if they were templates, so a password holding
    # "${" was refused: "the value of ${env:PASSWORD} is not valid here".
    monkeypatch.setenv("PASSWORD", "pa${ss}wo${rd")
    root = settings(tmp_path / "manifests")
    (root / "run.yaml").write_text(PASSWORD_ENV)
    applied = run_cli("apply", root, "--auto-approve", *_endpoint(local_admin))
    assert applied.code == 0, applied.out + applied.err
    assert "pa${ss}wo${rd" not in applied.out + applied.err
    run = stub.GetExecution(
        execution_pb2.WorkflowExecutionGetRequest(
            id=identifier_pb2.WorkflowExecutionIdentifier(
                project=PROJECT, domain=DOMAIN, name="run-pw"
            )
        )
    )
    assert {kv.key: kv.value for kv in run.spec.envs.values}["PASSWORD"] == "pa${ss}wo${rd"
