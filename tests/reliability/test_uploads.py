"""Uploads through a flaky network: a Registration's code tarball and a run's local file inputs
go to the blob server by HTTP PUT, whose first attempts are faulted (503s, connection resets,
answers lost after the blob was written). Apply converges, the plan after it is empty, the run
is launched once with the right bytes behind its inputs, and no output shows a signed URL."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from reconciler.localadmin import LocalAdmin
from reconciler.localadmin.faults import BLOB_PUT, Fault, Faults
from tests.engine import file_entities
from tests.reliability import support
from tests.reliability.tree import OWNER

PROJECT, DOMAIN = "flytesnacks", "production"
PUT_FAULTS = 12
"""The first PUT attempts, faulted: more than one upload's retry budget (5 attempts), so that
the first apply may fail on an upload and the next one must pick it up."""
MAX_RUNS = 2
"""Enough with retries (at most two uploads can run out of attempts on 12 faults); without them
the 4 PUTs of an apply would fail three applies in a row."""


def _register_crunch(admin: LocalAdmin) -> None:
    """``file_entities.crunch`` (file and directory inputs) at v1, registered by flytekit."""
    from flytekit.configuration import Config, ImageConfig, SerializationSettings
    from flytekit.remote import FlyteRemote

    remote = FlyteRemote(
        Config.for_endpoint(admin.endpoint, insecure=True),
        default_project=PROJECT,
        default_domain=DOMAIN,
    )
    serialization = SerializationSettings(
        image_config=ImageConfig.auto_default_image(), project=PROJECT, domain=DOMAIN, version="v1"
    )
    remote.register_workflow(file_entities.crunch, serialization, version="v1")


def _tree(root: Path, package: Path) -> Path:
    (root / "data" / "parts" / "nested").mkdir(parents=True)
    (root / "data" / "jan.csv").write_bytes(file_entities.CONTENT)
    (root / "data" / "parts" / "a.txt").write_text("part a\n")
    (root / "data" / "parts" / "nested" / "b.txt").write_text("part b\n")
    (root / "reconciler.yaml").write_text(
        f"defaults: {{project: {PROJECT}, domain: {DOMAIN}}}\nownerId: {OWNER}\n"
    )
    (root / "reports.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Registration\nmetadata: {name: reports}\n"
        f"spec: {{package: {package}, version: auto}}\n"
    )
    (root / "run.yaml").write_text(file_entities.run_manifest())
    return root


@pytest.mark.reliability
@pytest.mark.timeout(300)
def test_apply_converges_with_its_uploads_faulted(package: Path, tmp_path: Path) -> None:
    faults = Faults(
        rate=1.0,
        seed=7,
        kinds=tuple(k for k in Fault if k is not Fault.DELAY),
        methods=frozenset({BLOB_PUT}),
        limit=PUT_FAULTS,
    )
    root = _tree(tmp_path / "tree", package)
    with support.serve(tmp_path / "admin", faults=faults) as admin:
        injector = admin.fault_injector
        assert injector is not None
        injector.enabled = False
        _register_crunch(admin)
        injector.enabled = True
        outputs: list[str] = []
        for _ in range(MAX_RUNS):
            applied = support.run("apply", root, "--auto-approve", endpoint=admin.endpoint)
            outputs.append(applied.text)
            assert applied.code in (0, 1), applied.text
            if applied.code == 1:
                # only an upload out of attempts may fail, and it says so naming the file
                failed = [line for line in applied.out.splitlines() if "failed: " in line]
                assert failed, applied.text
                assert all("uploading " in line for line in failed), applied.text
            if applied.code == 0:
                break
        injector.enabled = False
        plan = support.run("plan", root, "--detailed-exitcode", endpoint=admin.endpoint)
        assert plan.code == 0, plan.text
        assert injector.injected.by_method == {BLOB_PUT: PUT_FAULTS}
        assert len(set(injector.injected.faults)) > 1
        state = support.read_state(admin.endpoint)
        blobs = admin.data_dir / "blobs" / PROJECT / DOMAIN
        data = blobs / hashlib.md5(file_entities.CONTENT).hexdigest() / "jan.csv"
        assert data.read_bytes() == file_entities.CONTENT
    assert list(state.runs) == [f"{PROJECT}/{DOMAIN}/crunch-jan"]  # launched once
    assert any(key.startswith(f"task/{PROJECT}/{DOMAIN}/reports.") for key in state.entities)
    assert not any("signature=" in text for text in outputs)
