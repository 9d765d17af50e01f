"""Registration manifests: a real ``pyflyte package`` archive (and Python source) registered into
the local Admin, then fetched and run with flytekit's FlyteRemote."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from flyteidl.admin import execution_pb2
from flyteidl.core import identifier_pb2
from flyteidl.service import admin_pb2_grpc

from reconciler.localadmin import LocalAdmin
from tests.engine.conftest import DOMAIN, PROJECT, settings

FLOWS = """\
from flytekit import task, workflow


@task
def double(a: int) -> int:
    return a * {factor}


@workflow
def pipeline(a: int = 3) -> int:
    return double(a=a)
"""


def _source(root: Path, factor: int = 2) -> Path:
    package = root / "wfpkg"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "flows.py").write_text(FLOWS.format(factor=factor))
    return root


def _archive(source: Path, output: Path) -> Path:
    pyflyte = Path(sys.executable).parent / "pyflyte"
    done = subprocess.run(
        [
            str(pyflyte),
            "--pkgs",
            "wfpkg",
            "package",
            "--copy",
            "auto",
            "--output",
            str(output),
            "--force",
            "--image",
            "python:3.11-slim",
        ],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return output


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("archives")
    return {
        "v2": _archive(_source(base / "two"), base / "two.tgz"),
        "v3": _archive(_source(base / "three", factor=3), base / "three.tgz"),
    }


@pytest.fixture
def running_admin(tmp_path: Path) -> Iterator[LocalAdmin]:
    """On the wall clock, with quick tasks: FlyteRemote.wait polls in real time."""
    with LocalAdmin(data_dir=tmp_path / "data", task_seconds=0.05, tick_interval=0.05) as admin:
        yield admin


REGISTRATION = """\
apiVersion: reconciler/v1
kind: Registration
metadata: {{name: flows}}
spec:
  package: {package}
  version: {version}
"""
ADDRESS = f"Registration/{PROJECT}/{DOMAIN}/flows"


def _run(run_cli, admin: LocalAdmin, *args: object):  # type: ignore[no-untyped-def]
    return run_cli(*args, "--endpoint", admin.endpoint, "--insecure")


def _change(run_cli, admin: LocalAdmin, root: Path) -> dict:  # type: ignore[type-arg, no-untyped-def]
    result = _run(run_cli, admin, "plan", root, "-o", "json")
    assert result.code == 0, result.err
    return {c["address"]: c for c in json.loads(result.out)["changes"]}[ADDRESS]


def test_archive_is_registered_and_runs_with_flytekit(
    run_cli, running_admin, archives, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = settings(tmp_path / "manifests")
    (root / "reg.yaml").write_text(REGISTRATION.format(package=archives["v2"], version="v1"))
    change = _change(run_cli, running_admin, root)
    assert change["action"] == "create"
    assert change["after"]["tasks"] == ["wfpkg.flows.double"]
    applied = _run(run_cli, running_admin, "apply", root, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert _run(run_cli, running_admin, "plan", root, "--detailed-exitcode").code == 0

    from flytekit.configuration import Config
    from flytekit.remote import FlyteRemote

    remote = FlyteRemote(
        Config.for_endpoint(running_admin.endpoint, insecure=True),
        default_project=PROJECT,
        default_domain=DOMAIN,
    )
    workflow = remote.fetch_workflow(name="wfpkg.flows.pipeline", version="v1")
    task = remote.fetch_task(name="wfpkg.flows.double", version="v1")
    assert "{{ .remote_package_path }}" not in " ".join(task.template.container.args)
    execution = remote.execute(workflow, inputs={"a": 4})
    done = remote.wait(
        execution,
        timeout=datetime.timedelta(seconds=60),
        poll_interval=datetime.timedelta(seconds=0.2),
    )
    assert done.closure.phase == 4  # SUCCEEDED (outputs are simulated)


def test_a_changed_task_under_the_same_version_is_a_conflict(
    run_cli, running_admin, archives, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = settings(tmp_path / "manifests")
    (root / "reg.yaml").write_text(REGISTRATION.format(package=archives["v2"], version="v1"))
    assert _run(run_cli, running_admin, "apply", root, "--auto-approve").code == 0
    (root / "reg.yaml").write_text(REGISTRATION.format(package=archives["v3"], version="v1"))
    change = _change(run_cli, running_admin, root)
    assert change["action"] == "conflict"
    assert "different task wfpkg.flows.double" in change["reason"]
    # the code changed, so the task points at another code tarball
    assert [d["path"] for d in change["diff"]] == ['tasks["wfpkg.flows.double"].container.args[2]']


def test_auto_version_follows_the_content(run_cli, running_admin, archives, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = settings(tmp_path / "manifests")
    (root / "reg.yaml").write_text(REGISTRATION.format(package=archives["v2"], version="auto"))
    first = _change(run_cli, running_admin, root)["after"]["version"]
    assert _change(run_cli, running_admin, root)["after"]["version"] == first
    assert _run(run_cli, running_admin, "apply", root, "--auto-approve").code == 0
    assert _change(run_cli, running_admin, root)["action"] == "noop"
    (root / "reg.yaml").write_text(REGISTRATION.format(package=archives["v3"], version="auto"))
    changed = _change(run_cli, running_admin, root)
    assert changed["action"] == "create"
    assert changed["after"]["version"] != first


def test_launch_plan_uses_the_version_its_registration_gives(
    run_cli, running_admin, archives, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = settings(tmp_path / "manifests")
    (root / "reg.yaml").write_text(REGISTRATION.format(package=archives["v2"], version="auto"))
    (root / "lp.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: LaunchPlan\nmetadata: {name: nightly}\n"
        "spec:\n  workflow: {name: wfpkg.flows.pipeline}\n  schedule: {cron: '@daily'}\n"
        "---\napiVersion: reconciler/v1\nkind: Execution\nmetadata: {name: first-run}\n"
        "spec: {launchPlan: {name: nightly}, inputs: {a: 5}}\n"
    )
    applied = _run(run_cli, running_admin, "apply", root, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert "Apply: 3 done, 0 failed." in applied.out
    assert _run(run_cli, running_admin, "plan", root, "--detailed-exitcode").code == 0


def test_source_is_serialized_with_flytekit_and_registered(
    run_cli, running_admin, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    _source(tmp_path / "src")
    root = settings(tmp_path / "manifests")
    (root / "reg.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Registration\nmetadata: {name: flows}\n"
        "spec: {source: {path: ../src, module: wfpkg}, version: auto}\n"
    )
    applied = _run(run_cli, running_admin, "apply", root, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert _run(run_cli, running_admin, "plan", root, "--detailed-exitcode").code == 0
    version = _change(run_cli, running_admin, root)["after"]["version"]

    from flytekit.configuration import Config
    from flytekit.remote import FlyteRemote

    remote = FlyteRemote(
        Config.for_endpoint(running_admin.endpoint, insecure=True),
        default_project=PROJECT,
        default_domain=DOMAIN,
    )
    workflow = remote.fetch_workflow(name="wfpkg.flows.pipeline", version=version)
    execution = remote.execute(workflow, inputs={"a": 4})
    done = remote.wait(
        execution,
        timeout=datetime.timedelta(seconds=60),
        poll_interval=datetime.timedelta(seconds=0.2),
    )
    assert done.closure.phase == 4  # SUCCEEDED


def test_a_broken_archive_is_a_plan_error_at_the_manifest(run_cli, running_admin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = settings(tmp_path / "manifests")
    (root / "junk.tgz").write_bytes(b"not a tarball")
    (root / "reg.yaml").write_text(REGISTRATION.format(package="junk.tgz", version="v1"))
    result = _run(run_cli, running_admin, "plan", root)
    assert result.code == 1
    assert "reg.yaml:5:12: spec.package:" in result.err
    assert "is not a pyflyte package archive" in result.err


def test_a_task_registered_in_the_same_plan_runs_by_itself(
    run_cli, running_admin, archives, stub_for, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = settings(tmp_path / "manifests")
    (root / "reg.yaml").write_text(REGISTRATION.format(package=archives["v2"], version="auto"))
    (root / "run.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Execution\nmetadata: {name: double-it}\n"
        "spec: {task: {name: wfpkg.flows.double}, inputs: {a: 21}}\n"
    )
    applied = _run(run_cli, running_admin, "apply", root, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert "ok Execution/flytesnacks/development/double-it: created" in applied.out
    execution = stub_for(running_admin).GetExecution(
        execution_pb2.WorkflowExecutionGetRequest(
            id=identifier_pb2.WorkflowExecutionIdentifier(
                project=PROJECT, domain=DOMAIN, name="double-it"
            )
        )
    )
    assert execution.spec.launch_plan.resource_type == identifier_pb2.TASK
    assert _run(run_cli, running_admin, "plan", root, "--detailed-exitcode").code == 0


@pytest.fixture
def stub_for() -> Iterator[Callable[[LocalAdmin], admin_pb2_grpc.AdminServiceStub]]:
    channels: list[grpc.Channel] = []

    def make(admin: LocalAdmin) -> admin_pb2_grpc.AdminServiceStub:
        channels.append(grpc.insecure_channel(admin.endpoint))
        return admin_pb2_grpc.AdminServiceStub(channels[-1])

    yield make
    for channel in channels:
        channel.close()


def _tasks_only(archive: Path, folder: Path) -> Path:
    """A package folder holding the archive's task (and code) but not its workflow."""
    import tarfile

    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    for path in folder.glob("*_[23].pb"):
        path.unlink()
    return folder


TARGETED_TREE = """\
apiVersion: reconciler/v1
kind: LaunchPlan
metadata: {name: nightly}
spec: {workflow: {name: wfpkg.flows.pipeline}, schedule: {cron: '@daily'}}
---
apiVersion: reconciler/v1
kind: LaunchPlan
metadata: {name: weekly}
spec: {workflow: {name: wfpkg.flows.pipeline}, schedule: {cron: '@weekly'}}
---
apiVersion: reconciler/v1
kind: Execution
metadata: {name: first-run}
spec: {launchPlan: {name: nightly}, inputs: {a: 5}}
---
apiVersion: reconciler/v1
kind: Signal
metadata: {name: go}
spec: {execution: first-run, signalId: go, approve: true}
---
apiVersion: reconciler/v1
kind: Registration
metadata: {name: flows, domain: staging}
spec: {package: %(archive)s}
---
apiVersion: reconciler/v1
kind: LaunchPlan
metadata: {name: nightly, domain: staging}
spec: {workflow: {name: wfpkg.flows.pipeline}, schedule: {cron: '@daily'}}
"""


def _targeted_tree(tmp_path: Path, archives: dict[str, Path]) -> Path:
    root = settings(tmp_path / "manifests")
    (root / "reg.yaml").write_text(REGISTRATION.format(package=archives["v2"], version="auto"))
    tasks = _tasks_only(archives["v3"], tmp_path / "tasks-only")
    (root / "tasks.yaml").write_text(
        REGISTRATION.format(package=tasks, version="auto").replace("flows", "tasks")
    )
    (root / "rest.yaml").write_text(TARGETED_TREE % {"archive": archives["v2"]})
    return root


def _planned(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert result.code == 0, result.out + result.err
    return {c["address"]: c["action"] for c in json.loads(result.out)["changes"]}


def test_a_targeted_launch_plan_brings_the_registration_of_its_workflow_and_nothing_else(
    run_cli, running_admin, archives, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _targeted_tree(tmp_path, archives)
    target = f"LaunchPlan/{PROJECT}/{DOMAIN}/nightly"
    planned = _run(run_cli, running_admin, "plan", root, "--target", target, "-o", "json")
    assert _planned(planned) == {ADDRESS: "create", target: "create"}

    applied = _run(run_cli, running_admin, "apply", root, "--target", target, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert "Apply: 2 done, 0 failed." in applied.out
    again = _run(run_cli, running_admin, "plan", root, "--target", target, "--detailed-exitcode")
    assert again.code == 0, again.out + again.err


def test_kind_and_name_targets_every_project_and_domain(
    run_cli, running_admin, archives, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _targeted_tree(tmp_path, archives)
    result = _run(
        run_cli, running_admin, "plan", root, "--target", "LaunchPlan/nightly", "-o", "json"
    )
    assert set(_planned(result)) == {
        ADDRESS,
        f"LaunchPlan/{PROJECT}/{DOMAIN}/nightly",
        f"Registration/{PROJECT}/staging/flows",
        f"LaunchPlan/{PROJECT}/staging/nightly",
    }


def test_a_targeted_signal_brings_its_execution_launch_plan_and_registration(
    run_cli, running_admin, archives, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = _targeted_tree(tmp_path, archives)
    result = _run(run_cli, running_admin, "plan", root, "--target", "Signal/go", "-o", "json")
    assert _planned(result) == {
        ADDRESS: "create",
        f"LaunchPlan/{PROJECT}/{DOMAIN}/nightly": "create",
        f"Execution/{PROJECT}/{DOMAIN}/first-run": "create",
        f"Signal/{PROJECT}/{DOMAIN}/first-run/go": "wait",
    }


def test_plan_ref_reads_the_package_a_registration_names_at_that_revision(
    run_cli, running_admin, archives, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import shutil

    import git

    top = tmp_path / "repo"
    root = settings(top / "manifests")
    (root / "reg.yaml").write_text(REGISTRATION.format(package="../dist/flows.tgz", version="auto"))
    (top / "dist").mkdir()
    shutil.copy(archives["v2"], top / "dist" / "flows.tgz")
    repo = git.Repo.init(top)
    author = git.Actor("t", "t@example.com")
    repo.index.add(["manifests/reconciler.yaml", "manifests/reg.yaml", "dist/flows.tgz"])
    first = repo.index.commit("flows x2", author=author, committer=author).hexsha
    at_first = _change(run_cli, running_admin, root)["after"]["version"]
    shutil.copy(archives["v3"], top / "dist" / "flows.tgz")
    repo.index.add(["dist/flows.tgz"])
    repo.index.commit("flows x3", author=author, committer=author)
    assert _change(run_cli, running_admin, root)["after"]["version"] != at_first
    # ../dist resolves inside the revision's copy, not in the working tree
    planned = _run(run_cli, running_admin, "plan", root, "--ref", first, "-o", "json")
    assert planned.code == 0, planned.err
    [change] = json.loads(planned.out)["changes"]
    assert change["after"]["version"] == at_first
    # the package the manifest reads counts for dirty too, though it lies outside PATH
    plan = _run(run_cli, running_admin, "plan", root, "-o", "json")
    assert json.loads(plan.out)["source"]["dirty"] is False
    shutil.copy(archives["v2"], top / "dist" / "flows.tgz")
    plan = _run(run_cli, running_admin, "plan", root, "-o", "json")
    assert json.loads(plan.out)["source"]["dirty"] is True
