"""Registration manifests: a real ``pyflyte package`` archive (and Python source) registered into
the local Admin, then fetched and run with flytekit's FlyteRemote."""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from flyteidl.admin import execution_pb2, workflow_pb2
from flyteidl.core import identifier_pb2
from flyteidl.core import workflow_pb2 as core_workflow_pb2
from flyteidl.service import admin_pb2_grpc
from google.protobuf.message import Message

from reconciler import packages
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


def _archive(source: Path, output: Path, package: str = "wfpkg") -> Path:
    pyflyte = Path(sys.executable).parent / "pyflyte"
    done = subprocess.run(
        [
            str(pyflyte),
            "--pkgs",
            package,
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


# A fan-in at the top level and inside a branch: flytekit collects upstream nodes in a Python set,
# so pyflyte writes their ids in another order in each process. The dynamic task carries
# flytekit's serialization settings, which hold the absolute path of the checkout.
FAN_IN = """\
from flytekit import conditional, dynamic, task, workflow


@task
def inc(a: int) -> int:
    return a + 1


@task
def add(x: int, y: int, z: int) -> int:
    return x + y + z


@dynamic
def spread(n: int) -> int:
    return add(x=inc(a=n), y=n, z=n)


@workflow
def fan_in(a: int = 1) -> int:
    x, y, z = inc(a=a), inc(a=a), inc(a=a)
    top = add(x=x, y=y, z=z)
    picked = (
        conditional("big")
        .if_(a > 1)
        .then(add(x=x, y=y, z=top))
        .else_()
        .then(add(x=top, y=z, z=x))
    )
    return spread(n=picked)
"""


def _fan_in_source(root: Path) -> Path:
    package = root / "fanpkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "flows.py").write_text(FAN_IN)
    return root


def _reverse_upstream_ids(message: Message, reversed_in: list[str]) -> None:
    if isinstance(message, core_workflow_pb2.Node) and len(message.upstream_node_ids) > 1:
        ids = list(message.upstream_node_ids)
        del message.upstream_node_ids[:]
        message.upstream_node_ids.extend(reversed(ids))
        reversed_in.append(message.id)
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        for item in [value] if isinstance(value, Message) else value:
            if isinstance(item, Message):
                _reverse_upstream_ids(item, reversed_in)


@pytest.fixture(scope="module")
def fan_in(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One real pyflyte package of FAN_IN as pyflyte wrote it, and the same package as another
    pyflyte process may write it: every list of upstream node ids in the other order."""
    base = tmp_path_factory.mktemp("fan-in")
    archive = _archive(_fan_in_source(base / "src"), base / "fan-in.tgz", "fanpkg")
    written, reordered = base / "as-written", base / "reordered"
    with tarfile.open(archive) as tar:
        tar.extractall(written, filter="data")
    shutil.copytree(written, reordered)
    reversed_in: list[str] = []
    for path in reordered.glob("*_2.pb"):
        spec = workflow_pb2.WorkflowSpec.FromString(path.read_bytes())
        _reverse_upstream_ids(spec, reversed_in)
        path.write_bytes(spec.SerializeToString())
    # the top-level fan-in node and the nodes in both branch cases
    assert len(reversed_in) >= 3, reversed_in
    return {"as-written": written, "reordered": reordered}


def test_auto_version_does_not_depend_on_the_order_of_upstream_node_ids(
    run_cli, local_admin, fan_in, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = settings(tmp_path / "manifests")
    versions = []
    for variant in ("as-written", "reordered"):
        (root / "reg.yaml").write_text(REGISTRATION.format(package=fan_in[variant], version="auto"))
        versions.append(_change(run_cli, local_admin, root)["after"]["version"])
    assert versions[0] == versions[1]


def test_a_workflow_registered_with_its_upstream_node_ids_in_another_order_is_unchanged(
    run_cli, local_admin, fan_in, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    root = settings(tmp_path / "manifests")
    (root / "reg.yaml").write_text(REGISTRATION.format(package=fan_in["as-written"], version="v1"))
    applied = _run(run_cli, local_admin, "apply", root, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    (root / "reg.yaml").write_text(REGISTRATION.format(package=fan_in["reordered"], version="v1"))
    change = _change(run_cli, local_admin, root)
    assert change["action"] == "noop", change


def test_auto_version_does_not_depend_on_where_the_source_is_checked_out(
    run_cli, local_admin, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """The same code checked out in two places (two CI runners, a laptop) is one version, and
    what one registered is unchanged for the other."""
    _fan_in_source(tmp_path / "one")
    _fan_in_source(tmp_path / "elsewhere" / "two")
    root = settings(tmp_path / "manifests")
    registration = (
        "apiVersion: reconciler/v1\nkind: Registration\nmetadata: {{name: flows}}\n"
        "spec: {{source: {{path: {path}, module: fanpkg}}, version: auto}}\n"
    )
    (root / "reg.yaml").write_text(registration.format(path="../one"))
    applied = _run(run_cli, local_admin, "apply", root, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    (root / "reg.yaml").write_text(registration.format(path="../elsewhere/two"))
    change = _change(run_cli, local_admin, root)
    assert change["action"] == "noop", change


@pytest.fixture
def pyflyte_runs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every pyflyte process the reconciler starts (they still run)."""
    runs: list[list[str]] = []
    real = packages._run_pyflyte

    def counted(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        runs.append(command)
        return real(command, cwd)

    monkeypatch.setattr(packages, "_run_pyflyte", counted)
    return runs


def _registrations_of(source: str, *domains: str) -> str:
    return "---\n".join(
        "apiVersion: reconciler/v1\nkind: Registration\n"
        f"metadata: {{name: flows, domain: {domain}}}\n"
        f"spec: {{source: {{path: {source}, module: wfpkg}}, version: auto}}\n"
        for domain in domains
    )


def _versions(plan_json: str) -> dict[str, str]:
    return {c["address"]: c["after"]["version"] for c in json.loads(plan_json)["changes"]}


def test_a_source_shared_by_registrations_is_serialized_once_per_run(
    run_cli, local_admin, pyflyte_runs, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    _source(tmp_path / "src")
    root = settings(tmp_path / "manifests")
    (root / "dev.yaml").write_text(_registrations_of("../src", "development"))
    # the same directory, spelled another way
    (root / "more.yaml").write_text(
        _registrations_of("../manifests/../src/", "staging", "production")
    )
    first = _run(run_cli, local_admin, "plan", root, "-o", "json", "-v")
    assert first.code == 0, first.err
    assert len(pyflyte_runs) == 1
    timings = re.findall(r"^serialized .*src \(module wfpkg\) in \d+\.\d s$", first.err, re.M)
    assert len(timings) == 1, first.err
    versions = _versions(first.out)
    assert len(versions) == 3

    # the next run reads the source again: an edit is never hidden by an earlier run
    _source(tmp_path / "src", factor=3)
    second = _run(run_cli, local_admin, "plan", root, "-o", "json")
    assert second.code == 0, second.err
    assert len(pyflyte_runs) == 2
    edited = _versions(second.out)
    assert all(edited[address] != version for address, version in versions.items())


def test_a_pyflyte_failure_shows_what_pyflyte_printed(
    run_cli, local_admin, pyflyte_runs, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    package = _source(tmp_path / "src") / "wfpkg"
    (package / "flows.py").write_text("from flytekit import task\n\nanswer = (6 *\n")
    root = settings(tmp_path / "manifests")
    (root / "reg.yaml").write_text(_registrations_of("../src", "development", "production"))
    result = _run(run_cli, local_admin, "plan", root)
    assert result.code == 1
    assert len(pyflyte_runs) == 1
    lines = result.err.splitlines()
    heads = [i for i, line in enumerate(lines) if "spec.source: pyflyte package failed" in line]
    assert len(heads) == 2, result.err  # both Registrations, from one pyflyte run
    # pyflyte's own lines, one per line as it printed them (its panel around the code)
    shown = lines[heads[0] + 1 : heads[1]]
    assert any(line.strip(" │") == "answer = (6 *" for line in shown), shown
    assert any(line.strip(" │") == "▲" for line in shown), shown
    assert shown[-1].strip() in {"SyntaxError: '(' was never closed", "SyntaxError: invalid syntax"}


def test_printed_plans_leave_file_content_out_and_only_saved_plans_apply(  # type: ignore[no-untyped-def]
    run_cli, local_admin, crunch_remote, file_tree, archives, tmp_path
) -> None:
    """A Registration (its code tarball) and a run from local files: ``plan -o json`` gives
    each upload's size and MD5, never the bytes (DESIGN.md: plans show the path and digest);
    ``--out`` keeps them, so the saved plan applies, and a printed one is refused whole."""
    import base64

    from tests.engine.file_entities import CONTENT

    (file_tree / "reg.yaml").write_text(REGISTRATION.format(package=archives["v2"], version="auto"))
    code = packages.read_package(archives["v2"]).code
    assert code is not None
    printed = _run(run_cli, local_admin, "plan", file_tree, "-o", "json")
    assert printed.code == 0, printed.err
    for content in (CONTENT, code.data):
        encoded = base64.b64encode(content).decode()
        assert encoded[:24] not in printed.out
        assert encoded[-24:] not in printed.out
    assert "eu,10" not in printed.out  # CONTENT's text
    uploads = [
        operation
        for change in json.loads(printed.out)["changes"]
        for operation in change["operations"]
        if operation["call"] == "UploadPackage"
    ]
    assert len(uploads) == 4  # the code tarball, the file, the directory's two files
    assert all("payload" not in u and u["payload_bytes"] > 0 for u in uploads)
    assert {u["payload_md5"] for u in uploads} >= {code.md5.hex(), hashlib.md5(CONTENT).hexdigest()}

    (tmp_path / "printed.json").write_text(printed.out)
    refused = _run(
        run_cli, local_admin, "apply", "--plan", tmp_path / "printed.json", "--auto-approve"
    )
    assert refused.code == 1
    assert "save plans with --out" in refused.err, refused.err
    still = _run(run_cli, local_admin, "plan", file_tree, "-o", "json")
    assert json.loads(still.out)["summary"]["create"] == 2  # nothing was applied

    saved = tmp_path / "saved.json"
    planned = _run(run_cli, local_admin, "plan", file_tree, "--out", saved)
    assert planned.code == 0, planned.err
    applied = _run(run_cli, local_admin, "apply", "--plan", saved, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    again = _run(run_cli, local_admin, "plan", file_tree, "--detailed-exitcode")
    assert again.code == 0, again.out + again.err


def test_under_ref_a_package_comes_from_the_revision_or_is_refused(
    run_cli, running_admin, archives, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """A package path that leads out of the revision's copy (absolute, or more ``..`` than the
    manifest is deep) would be read from this machine's files, and one never committed (build
    output) is not in the revision: under ``--ref`` both are refused at the manifest's line.
    In the working tree both are allowed, as the documented ``../dist/...`` example needs."""
    import shutil

    import git

    top = tmp_path / "repo"
    root = settings(top / "manifests")
    (top / ".gitignore").write_text("dist/\n")
    (top / "dist").mkdir()
    shutil.copy(archives["v2"], top / "dist" / "flows.tgz")  # build output, ignored
    shutil.copy(archives["v2"], tmp_path / "outside.tgz")  # beside the repository
    repo = git.Repo.init(top)
    author = git.Actor("t", "t@example.com")
    cases = {
        "absolute": str(tmp_path / "outside.tgz"),
        "up and out": "../../outside.tgz",
        "not committed": "../dist/flows.tgz",
    }
    for case, package in cases.items():
        (root / "reg.yaml").write_text(REGISTRATION.format(package=package, version="auto"))
        repo.index.add([".gitignore", "manifests/reconciler.yaml", "manifests/reg.yaml"])
        repo.index.commit(case, author=author, committer=author)
        working = _run(run_cli, running_admin, "plan", root)
        assert working.code == 0, f"{case}: {working.err}"
        refused = _run(run_cli, running_admin, "plan", root, "--ref", "HEAD")
        assert refused.code == 1, f"{case}: {refused.out}"
        assert f"HEAD:manifests/reg.yaml:5:12: spec.package: {package!r} is " in refused.err, (
            f"{case}: {refused.err}"
        )
        why = "is not in the revision" if case == "not committed" else "is outside the repository"
        assert why in refused.err, refused.err
    # committed, the package is read from the revision
    repo.index.add(["dist/flows.tgz"], force=True)
    repo.index.commit("the package", author=author, committer=author)
    assert _run(run_cli, running_admin, "plan", root, "--ref", "HEAD").code == 0
