"""Local files as Execution inputs (DESIGN.md, "Inputs from local files and outputs back"),
against the local Admin over gRPC, the uploads cross-checked with flytekit's ``FlyteRemote``."""

from __future__ import annotations

import hashlib
import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from reconciler.localadmin import LocalAdmin
from tests.conftest import write
from tests.engine.conftest import DOMAIN, PROJECT
from tests.engine.file_entities import CONTENT, run_manifest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture
def puts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs apply PUTs content to."""
    sent: list[str] = []
    real = urllib.request.urlopen

    def counting(request: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(request, urllib.request.Request) and request.get_method() == "PUT":
            sent.append(request.full_url)
        return real(request, *args, **kwargs)

    monkeypatch.setattr("reconciler.admin.client.urllib.request.urlopen", counting)
    return sent


def _cli(run_cli, local_admin: LocalAdmin, *args: object):  # type: ignore[no-untyped-def]
    return run_cli(*args, "--endpoint", local_admin.endpoint, "--insecure")


def _path(uri: str) -> Path:
    assert uri.startswith("file://"), uri
    return Path(urllib.request.url2pathname(uri.removeprefix("file://")))


def test_a_run_with_local_file_inputs_gets_the_uploaded_blobs(  # type: ignore[no-untyped-def]
    run_cli, local_admin, crunch_remote, file_tree, puts
) -> None:
    applied = _cli(run_cli, local_admin, "apply", file_tree, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert len(puts) == 3  # the file and the directory's two files
    execution = crunch_remote.fetch_execution(name="crunch-jan")
    literals = execution.inputs.literals  # the input literals as flytekit reads them
    data_uri = literals["data"].scalar.blob.uri
    folder_uri = literals["folder"].scalar.blob.uri
    digest = hashlib.md5(CONTENT).hexdigest()
    assert data_uri.endswith(f"/{PROJECT}/{DOMAIN}/{digest}/jan.csv")
    # flytekit's own storage layer reads what the run will read
    local = file_tree.parent / "fetched.csv"
    crunch_remote.file_access.get_data(data_uri, str(local))
    assert local.read_bytes() == CONTENT
    folder = _path(folder_uri)
    assert (folder / "a.txt").read_text() == "part a\n"
    assert (folder / "nested" / "b.txt").read_text() == "part b\n"
    assert literals["folder"].scalar.blob.metadata.type.dimensionality == 1  # MULTIPART


def test_plan_shows_path_and_digest_and_never_the_content(
    run_cli, local_admin, crunch_remote, file_tree
) -> None:  # type: ignore[no-untyped-def]
    planned = _cli(run_cli, local_admin, "plan", file_tree)
    assert planned.code == 0, planned.err
    digest = hashlib.md5(CONTENT).hexdigest()
    assert f"data/jan.csv (md5 {digest})" in planned.out
    assert "./data/parts (md5 " in planned.out
    assert "eu,10" not in planned.out
    shown = _cli(run_cli, local_admin, "plan", file_tree, "-o", "json")
    [change] = json.loads(shown.out)["changes"]
    assert change["after"]["inputs"]["data"] == f"data/jan.csv (md5 {digest})"
    assert [o["call"] for o in change["operations"]] == [
        "UploadPackage",
        "UploadPackage",
        "UploadPackage",
        "CreateExecution",
    ]


def test_a_plan_after_apply_is_empty_and_an_unchanged_file_is_not_uploaded_again(  # type: ignore[no-untyped-def]
    run_cli, local_admin, crunch_remote, file_tree, puts
) -> None:
    assert _cli(run_cli, local_admin, "apply", file_tree, "--auto-approve").code == 0
    again = _cli(run_cli, local_admin, "plan", file_tree, "--detailed-exitcode")
    assert again.code == 0, again.out + again.err
    assert len(puts) == 3
    # another run of the same files: launched, and nothing sent again
    write(file_tree / "second.yaml", run_manifest(name="crunch-jan-again"))
    second = _cli(run_cli, local_admin, "apply", file_tree, "--auto-approve")
    assert second.code == 0, second.out + second.err
    assert len(puts) == 3
    first = crunch_remote.fetch_execution(name="crunch-jan").inputs.literals
    other = crunch_remote.fetch_execution(name="crunch-jan-again").inputs.literals
    assert first["data"] == other["data"]
    assert first["folder"] == other["folder"]


def test_a_changed_file_is_a_conflict_showing_the_path_and_both_digests(  # type: ignore[no-untyped-def]
    run_cli, local_admin, crunch_remote, file_tree
) -> None:
    assert _cli(run_cli, local_admin, "apply", file_tree, "--auto-approve").code == 0
    (file_tree / "data" / "jan.csv").write_bytes(CONTENT + b"fr,30\n")
    planned = _cli(run_cli, local_admin, "plan", file_tree, "-o", "json", "--detailed-exitcode")
    assert planned.code == 3, planned.out + planned.err
    [change] = json.loads(planned.out)["changes"]
    assert change["action"] == "conflict"
    old, new = hashlib.md5(CONTENT).hexdigest(), hashlib.md5(CONTENT + b"fr,30\n").hexdigest()
    assert change["diff"] == [
        {
            "path": "spec.inputs.data",
            "before": f"data/jan.csv (md5 {old})",
            "after": f"data/jan.csv (md5 {new})",
        }
    ]


def test_a_file_added_to_the_directory_is_a_conflict_too(
    run_cli, local_admin, crunch_remote, file_tree
) -> None:  # type: ignore[no-untyped-def]
    assert _cli(run_cli, local_admin, "apply", file_tree, "--auto-approve").code == 0
    write(file_tree / "data" / "parts" / "c.txt", "part c\n")
    planned = _cli(run_cli, local_admin, "plan", file_tree, "-o", "json")
    [change] = json.loads(planned.out)["changes"]
    assert change["action"] == "conflict"
    assert [d["path"] for d in change["diff"]] == ["spec.inputs.folder"]
    assert change["diff"][0]["before"].startswith("./data/parts (md5 ")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            "data/missing.csv",
            "run.yaml:7:18: spec.inputs.data.path: data/missing.csv does not exist",
        ),
        ("data/parts", "run.yaml:7:18: spec.inputs.data.path: data/parts is a directory; input "),
        ("../outside.csv", "spec.inputs.data.path: ../outside.csv is outside the repository"),
    ],
)
def test_unusable_paths_are_errors_with_their_place(  # type: ignore[no-untyped-def]
    run_cli, local_admin, crunch_remote, file_tree, data, message
) -> None:
    (file_tree / ".git").mkdir()  # the repository's file_tree, for the rule on paths outside it
    (file_tree.parent / "outside.csv").write_text("x\n")
    write(file_tree / "run.yaml", run_manifest(data=data))
    planned = _cli(run_cli, local_admin, "plan", file_tree)
    assert planned.code == 1
    assert message in planned.err, planned.err


def test_a_path_given_to_an_input_that_is_no_file_is_an_error(
    run_cli, local_admin, crunch_remote, file_tree
) -> None:  # type: ignore[no-untyped-def]
    text = run_manifest() + "    limit: {path: data/jan.csv}\n"
    write(file_tree / "run.yaml", text)
    planned = _cli(run_cli, local_admin, "plan", file_tree)
    assert planned.code == 1
    assert (
        "run.yaml:9:19: spec.inputs.limit.path: input 'limit' is int: only a file, directory or "
        "structured dataset input can be given as a local path"
    ) in planned.err, planned.err


def test_ref_reads_the_file_as_the_revision_holds_it(
    run_cli, local_admin, crunch_remote, file_tree
) -> None:  # type: ignore[no-untyped-def]
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=file_tree, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "add", ".")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "data")
    (file_tree / "data" / "jan.csv").write_bytes(b"changed in the working tree\n")
    planned = _cli(run_cli, local_admin, "plan", file_tree, "--ref", "main")
    assert planned.code == 0, planned.err
    assert f"data/jan.csv (md5 {hashlib.md5(CONTENT).hexdigest()})" in planned.out
    working = _cli(run_cli, local_admin, "plan", file_tree, "-o", "json")
    assert json.loads(working.out)["source"]["dirty"] is True  # the data is not in the commit
