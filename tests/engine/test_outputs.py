"""``reconciler outputs`` against the local Admin over gRPC: outputs as YAML values and JSON,
file and directory outputs downloaded through DataProxy with the content the engine wrote, and
read back by flytekit's ``FlyteRemote`` from the same URIs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from flyteidl.core import identifier_pb2
from flytekit.remote import FlyteRemote

from reconciler.localadmin import LocalAdmin
from reconciler.localadmin.outputs import DIRECTORY_FILE, content
from tests.conftest import write
from tests.engine.conftest import DOMAIN, PROJECT
from tests.engine.file_entities import run_manifest
from tests.engine.test_local_files import _cli

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


RUN_ID = identifier_pb2.WorkflowExecutionIdentifier(
    project=PROJECT, domain=DOMAIN, name="crunch-jan"
)


def _finish(run_cli, local_admin: LocalAdmin, file_tree: Path) -> None:  # type: ignore[no-untyped-def]
    applied = _cli(run_cli, local_admin, "apply", file_tree, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    local_admin.advance(600)


def test_a_run_not_finished_says_so_and_is_no_error(
    run_cli, local_admin, crunch_remote, file_tree
) -> None:  # type: ignore[no-untyped-def]
    assert _cli(run_cli, local_admin, "apply", file_tree, "--auto-approve").code == 0
    write(file_tree / "later.yaml", run_manifest(name="not-yet-applied"))
    shown = _cli(run_cli, local_admin, "outputs", file_tree)
    assert shown.code == 0, shown.err
    assert "not finished (QUEUED): no outputs yet" in shown.out
    assert "Execution/flytesnacks/development/not-yet-applied: not launched" in shown.out


def test_outputs_prints_a_finished_runs_outputs_as_yaml_and_json(
    run_cli, local_admin, crunch_remote, file_tree
) -> None:  # type: ignore[no-untyped-def]
    _finish(run_cli, local_admin, file_tree)
    shown = _cli(run_cli, local_admin, "outputs", file_tree)
    assert shown.code == 0, shown.err
    head, *lines = shown.out.splitlines()
    assert head.startswith(f"{PROJECT}/{DOMAIN}/crunch-jan  SUCCEEDED")
    values = yaml.safe_load("\n".join(line.removeprefix("    ") for line in lines))
    assert values["o1"] == 0  # the engine's zero value of an int
    assert values["o0"].startswith("file://")
    assert values["o2"].startswith("file://")
    as_json = _cli(run_cli, local_admin, "outputs", file_tree, "-o", "json")
    [run] = json.loads(as_json.out)["runs"]
    assert run["phase"] == "SUCCEEDED"
    assert run["outputs"] == values
    assert run["downloads"] == []


def test_download_writes_the_files_the_engine_wrote_and_flytekit_reads_the_same(  # type: ignore[no-untyped-def]
    run_cli, local_admin, crunch_remote: FlyteRemote, file_tree, tmp_path
) -> None:
    _finish(run_cli, local_admin, file_tree)
    target = tmp_path / "fetched"
    shown = _cli(run_cli, local_admin, "outputs", file_tree, "--download", target, "-o", "json")
    assert shown.code == 0, shown.out + shown.err
    [run] = json.loads(shown.out)["runs"]
    assert {d["output"]: d["error"] for d in run["downloads"]} == {"o0": None, "o2": None}
    file_output = (target / "crunch-jan" / "o0").read_text()
    assert file_output == content(RUN_ID, "n0", "o0")
    directory = target / "crunch-jan" / "o2"
    assert (directory / DIRECTORY_FILE).read_text() == content(RUN_ID, "n1", "o0")
    execution = crunch_remote.fetch_execution(name="crunch-jan")
    uri = execution.outputs.literals["o0"].scalar.blob.uri
    local = tmp_path / "by-flytekit"
    crunch_remote.file_access.get_data(uri, str(local))
    assert local.read_text() == file_output


def test_an_output_equal_to_a_value_from_the_environment_is_redacted(  # type: ignore[no-untyped-def]
    run_cli, local_admin, crunch_remote, file_tree, monkeypatch
) -> None:
    monkeypatch.setenv("TICKET", "4242")
    text = run_manifest() + (
        '  labels: {ticket: "${env:TICKET}"}\n'
        '  annotations: {localadmin/outputs: \'{"n0": {"o1": 4242}}\'}\n'
    )
    write(file_tree / "run.yaml", text)
    _finish(run_cli, local_admin, file_tree)
    for args in ((), ("-o", "json")):
        shown = _cli(run_cli, local_admin, "outputs", file_tree, *args)
        assert shown.code == 0, shown.err
        assert "4242" not in shown.out
        assert "${env:TICKET}" in shown.out
