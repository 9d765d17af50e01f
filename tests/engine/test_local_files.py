"""Local files as Execution inputs (DESIGN.md, "Inputs from local files and outputs back"),
against the local Admin over gRPC, the uploads cross-checked with flytekit's ``FlyteRemote``."""

from __future__ import annotations

import hashlib
import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flytekit.configuration import Config, ImageConfig, SerializationSettings
from flytekit.remote import FlyteRemote

from reconciler.localadmin import LocalAdmin, ManualClock
from tests.conftest import write
from tests.engine import file_entities
from tests.engine.conftest import DOMAIN, PROJECT, settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

LAUNCH_PLAN = f"{file_entities.__name__}.crunch"
RUN = """\
apiVersion: reconciler/v1
kind: Execution
metadata: {name: NAME}
spec:
  launchPlan: {name: LAUNCH_PLAN, version: v1}
  inputs:
    data: {path: DATA}
    folder: {path: ./data/parts}
"""
CONTENT = b"region,amount\neu,10\nus,20\n"


def run_manifest(name: str = "crunch-jan", data: str = "data/jan.csv") -> str:
    return RUN.replace("NAME", name).replace("LAUNCH_PLAN", LAUNCH_PLAN).replace("DATA", data)


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[LocalAdmin]:
    with LocalAdmin(clock=ManualClock(), data_dir=tmp_path / "admin-data") as running:
        yield running


@pytest.fixture
def remote(admin: LocalAdmin) -> FlyteRemote:
    remote = FlyteRemote(
        Config.for_endpoint(admin.endpoint, insecure=True),
        default_project=PROJECT,
        default_domain=DOMAIN,
    )
    serialization = SerializationSettings(
        image_config=ImageConfig.auto_default_image(),
        project=PROJECT,
        domain=DOMAIN,
        version="v1",
    )
    remote.register_workflow(file_entities.crunch, serialization, version="v1")
    return remote


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = settings(tmp_path / "manifests")
    (root / "data").mkdir()
    (root / "data" / "jan.csv").write_bytes(CONTENT)
    write(root / "data" / "parts" / "a.txt", "part a\n")
    write(root / "data" / "parts" / "nested" / "b.txt", "part b\n")
    write(root / "run.yaml", run_manifest())
    return root


@pytest.fixture
def puts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs apply PUTs content to."""
    sent: list[str] = []
    real = urllib.request.urlopen

    def counting(request: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(request, urllib.request.Request) and request.get_method() == "PUT":
            sent.append(request.full_url)
        return real(request, *args, **kwargs)

    monkeypatch.setattr("reconciler.apply.run.urllib.request.urlopen", counting)
    return sent


def _cli(run_cli, admin: LocalAdmin, *args: object):  # type: ignore[no-untyped-def]
    return run_cli(*args, "--endpoint", admin.endpoint, "--insecure")


def _path(uri: str) -> Path:
    assert uri.startswith("file://"), uri
    return Path(urllib.request.url2pathname(uri.removeprefix("file://")))


def test_a_run_with_local_file_inputs_gets_the_uploaded_blobs(  # type: ignore[no-untyped-def]
    run_cli, admin, remote, root, puts
) -> None:
    applied = _cli(run_cli, admin, "apply", root, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert len(puts) == 3  # the file and the directory's two files
    execution = remote.fetch_execution(name="crunch-jan")
    literals = execution.inputs.literals  # the input literals as flytekit reads them
    data_uri = literals["data"].scalar.blob.uri
    folder_uri = literals["folder"].scalar.blob.uri
    digest = hashlib.md5(CONTENT).hexdigest()
    assert data_uri.endswith(f"/{PROJECT}/{DOMAIN}/{digest}/jan.csv")
    # flytekit's own storage layer reads what the run will read
    local = root.parent / "fetched.csv"
    remote.file_access.get_data(data_uri, str(local))
    assert local.read_bytes() == CONTENT
    folder = _path(folder_uri)
    assert (folder / "a.txt").read_text() == "part a\n"
    assert (folder / "nested" / "b.txt").read_text() == "part b\n"
    assert literals["folder"].scalar.blob.metadata.type.dimensionality == 1  # MULTIPART


def test_plan_shows_path_and_digest_and_never_the_content(run_cli, admin, remote, root) -> None:  # type: ignore[no-untyped-def]
    planned = _cli(run_cli, admin, "plan", root)
    assert planned.code == 0, planned.err
    digest = hashlib.md5(CONTENT).hexdigest()
    assert f"data/jan.csv (md5 {digest})" in planned.out
    assert "./data/parts (md5 " in planned.out
    assert "eu,10" not in planned.out
    shown = _cli(run_cli, admin, "plan", root, "-o", "json")
    [change] = json.loads(shown.out)["changes"]
    assert change["after"]["inputs"]["data"] == f"data/jan.csv (md5 {digest})"
    assert [o["call"] for o in change["operations"]] == [
        "UploadPackage",
        "UploadPackage",
        "UploadPackage",
        "CreateExecution",
    ]


def test_a_plan_after_apply_is_empty_and_an_unchanged_file_is_not_uploaded_again(  # type: ignore[no-untyped-def]
    run_cli, admin, remote, root, puts
) -> None:
    assert _cli(run_cli, admin, "apply", root, "--auto-approve").code == 0
    again = _cli(run_cli, admin, "plan", root, "--detailed-exitcode")
    assert again.code == 0, again.out + again.err
    assert len(puts) == 3
    # another run of the same files: launched, and nothing sent again
    write(root / "second.yaml", run_manifest(name="crunch-jan-again"))
    second = _cli(run_cli, admin, "apply", root, "--auto-approve")
    assert second.code == 0, second.out + second.err
    assert len(puts) == 3
    first = remote.fetch_execution(name="crunch-jan").inputs.literals
    other = remote.fetch_execution(name="crunch-jan-again").inputs.literals
    assert first["data"] == other["data"]
    assert first["folder"] == other["folder"]


def test_a_changed_file_is_a_conflict_showing_the_path_and_both_digests(  # type: ignore[no-untyped-def]
    run_cli, admin, remote, root
) -> None:
    assert _cli(run_cli, admin, "apply", root, "--auto-approve").code == 0
    (root / "data" / "jan.csv").write_bytes(CONTENT + b"fr,30\n")
    planned = _cli(run_cli, admin, "plan", root, "-o", "json", "--detailed-exitcode")
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


def test_a_file_added_to_the_directory_is_a_conflict_too(run_cli, admin, remote, root) -> None:  # type: ignore[no-untyped-def]
    assert _cli(run_cli, admin, "apply", root, "--auto-approve").code == 0
    write(root / "data" / "parts" / "c.txt", "part c\n")
    planned = _cli(run_cli, admin, "plan", root, "-o", "json")
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
    run_cli, admin, remote, root, data, message
) -> None:
    (root / ".git").mkdir()  # the repository's root, for the rule on paths outside it
    (root.parent / "outside.csv").write_text("x\n")
    write(root / "run.yaml", run_manifest(data=data))
    planned = _cli(run_cli, admin, "plan", root)
    assert planned.code == 1
    assert message in planned.err, planned.err


def test_a_path_given_to_an_input_that_is_no_file_is_an_error(run_cli, admin, remote, root) -> None:  # type: ignore[no-untyped-def]
    text = run_manifest() + "    limit: {path: data/jan.csv}\n"
    write(root / "run.yaml", text)
    planned = _cli(run_cli, admin, "plan", root)
    assert planned.code == 1
    assert (
        "run.yaml:9:19: spec.inputs.limit.path: input 'limit' is int: only a file, directory or "
        "structured dataset input can be given as a local path"
    ) in planned.err, planned.err


def test_ref_reads_the_file_as_the_revision_holds_it(run_cli, admin, remote, root) -> None:  # type: ignore[no-untyped-def]
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "add", ".")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "data")
    (root / "data" / "jan.csv").write_bytes(b"changed in the working tree\n")
    planned = _cli(run_cli, admin, "plan", root, "--ref", "main")
    assert planned.code == 0, planned.err
    assert f"data/jan.csv (md5 {hashlib.md5(CONTENT).hexdigest()})" in planned.out
    working = _cli(run_cli, admin, "plan", root, "-o", "json")
    assert json.loads(working.out)["source"]["dirty"] is True  # the data is not in the commit
