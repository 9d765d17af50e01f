"""Shared by the fuzz tests: the hypothesis profiles, an in-process CLI runner whose streams
encode like a real terminal's, and one local Admin per module that knows the grammar's world.

Sizes: ``RECONCILER_FUZZ=ci`` (the default) runs a few hundred derandomized cases per test, so CI
sees the same cases every run; ``RECONCILER_FUZZ=full`` (``make reliability``; also
``RELIABILITY_FULL=1``) runs 10,000 validate and 2,500 plan cases, randomized, and prints how to
reproduce any failure (``print_blob``).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from flyteidl.admin import launch_plan_pb2, signal_pb2, task_pb2, workflow_pb2
from flyteidl.core import identifier_pb2, interface_pb2, literals_pb2, tasks_pb2, types_pb2
from flyteidl.service import admin_pb2_grpc, signal_pb2_grpc
from google.protobuf import duration_pb2
from hypothesis import HealthCheck, settings

from reconciler.cli import main
from reconciler.localadmin import LocalAdmin, ManualClock
from tests.fuzz import grammar
from tests.localadmin import builders as b

PROFILE_VARIABLE = "RECONCILER_FUZZ"
_QUIET = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.filter_too_much,
    HealthCheck.large_base_example,
    # the autouse environment isolation of tests/conftest.py is per test, which is what we want:
    # the fuzz cases of one test share it
    HealthCheck.function_scoped_fixture,
]
settings.register_profile(
    "fuzz-ci",
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=_QUIET,
    print_blob=True,
)
settings.register_profile(
    "fuzz-full",
    max_examples=10_000,
    derandomize=False,
    deadline=None,
    suppress_health_check=_QUIET,
    print_blob=True,
)
# cases per test, by profile: validate is cheap, plan reads the local Admin over gRPC
CASES = {"ci": {"validate": 300, "plan": 200}, "full": {"validate": 10_000, "plan": 2_500}}


def fuzz_profile() -> str:
    # RELIABILITY_FULL=1, the other full-size tests' switch, selects the full run too
    name = os.environ.get(PROFILE_VARIABLE) or (
        "full" if os.environ.get("RELIABILITY_FULL") else "ci"
    )
    if name not in CASES:
        raise pytest.UsageError(f"{PROFILE_VARIABLE} is 'ci' or 'full', not {name!r}")
    return name


def fuzz_timeout() -> pytest.MarkDecorator:
    """pytest-timeout's 120 s suits the CI sizes; the full run takes as long as it takes."""
    return pytest.mark.timeout(300 if fuzz_profile() == "ci" else 0)


def fuzz_settings(test: str) -> settings:
    """The profile selected by ``RECONCILER_FUZZ``, with ``test``'s number of cases."""
    profile = fuzz_profile()
    return settings(settings.get_profile(f"fuzz-{profile}"), max_examples=CASES[profile][test])


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def run_cli(cwd: Path, *args: str) -> Run:
    """``reconciler ARGS`` in-process through the real entry point, in ``cwd``. stdout and stderr
    encode UTF-8 strictly, as a pipe does, so printing what cannot be encoded fails here too."""
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="strict", write_through=True)
    previous = Path.cwd()
    code: object = 0
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exited:
                code = exited.code
    finally:
        os.chdir(previous)
    return Run(
        code if isinstance(code, int) else 1,
        out_bytes.getvalue().decode("utf-8"),
        err_bytes.getvalue().decode("utf-8"),
    )


@contextlib.contextmanager
def written(base: Path, tree: grammar.Tree) -> Iterator[Path]:
    """The tree's files in a new directory under ``base`` (removed afterwards), with the
    package folder where ``package: ../package`` finds it from any file of the tree."""
    root = Path(tempfile.mkdtemp(prefix="case-", dir=base))
    for folder in (root, root / "sub"):
        shutil.copytree(base / "package", folder / "package")
    try:
        for name, data in tree.files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def fuzz_environment() -> Iterator[None]:
    """What ``${env:...}`` references in generated manifests resolve to."""
    saved = {name: os.environ.get(name) for name in grammar.ENVIRONMENT}
    os.environ.update(grammar.ENVIRONMENT)
    os.environ.pop("FUZZ_UNSET", None)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="module")
def fuzz_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where cases are written; ``package`` next to them is a package folder that a
    Registration's ``package: ../package`` finds."""
    base = tmp_path_factory.mktemp("fuzz")
    _write_package(base / "package")
    return base


def _write_package(folder: Path) -> None:
    """A ``pyflyte package`` folder by hand: task ``pkgtask`` and workflow ``pkgwf`` (a: int),
    identifiers without project, domain and version as pyflyte leaves them."""
    folder.mkdir()
    task = identifier_pb2.Identifier(resource_type=identifier_pb2.TASK, name="pkgtask")
    workflow = identifier_pb2.Identifier(resource_type=identifier_pb2.WORKFLOW, name="pkgwf")
    task_spec = task_pb2.TaskSpec(
        template=tasks_pb2.TaskTemplate(
            id=task,
            type="python-task",
            interface=b.interface({"a": b.INT}, {"o0": b.INT}),
            container=tasks_pb2.Container(image="python:3.11", args=["pyflyte-execute"]),
        )
    )
    spec = b.workflow_spec(task=task)
    spec.template.id.CopyFrom(workflow)
    plan = launch_plan_pb2.LaunchPlan(
        id=identifier_pb2.Identifier(resource_type=identifier_pb2.LAUNCH_PLAN, name="pkgwf"),
        spec=launch_plan_pb2.LaunchPlanSpec(
            workflow_id=workflow,
            default_inputs=interface_pb2.ParameterMap(
                parameters={"a": interface_pb2.Parameter(var=interface_pb2.Variable(type=b.INT))}
            ),
        ),
    )
    (folder / "01_pkgtask_1.pb").write_bytes(task_spec.SerializeToString())
    (folder / "02_pkgwf_2.pb").write_bytes(spec.SerializeToString())
    (folder / "03_pkgwf_3.pb").write_bytes(plan.SerializeToString())


@pytest.fixture(scope="module")
def world_admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAdmin]:
    """A local Admin holding the entities the grammar names: workflows ``wf`` (a: int,
    region: str, run_date: datetime) and ``gated``, launch plans ``wf``, ``daily`` (scheduled)
    and ``gated``, runs ``run-1``, ``gated-run`` (waiting on ``ok``) and ``waiting-n`` (waiting
    on ``n``), and an owned launch plan for ``--prune``. Plans only read, so cases share it."""
    data = tmp_path_factory.mktemp("world-admin")
    with LocalAdmin(clock=ManualClock(), data_dir=data) as admin:
        with grpc.insecure_channel(admin.endpoint) as channel:
            _populate(admin, admin_pb2_grpc.AdminServiceStub(channel), channel)
        yield admin


def _populate(
    admin: LocalAdmin, stub: admin_pb2_grpc.AdminServiceStub, channel: grpc.Channel
) -> None:
    optional = {
        "region": b.STR,
        "f": types_pb2.LiteralType(simple=types_pb2.SimpleType.FLOAT),
        "b": b.BOOL,
        "d": types_pb2.LiteralType(simple=types_pb2.SimpleType.DURATION),
        "l": types_pb2.LiteralType(collection_type=b.INT),
        "m": types_pb2.LiteralType(map_value_type=b.STR),
    }
    inputs = {"a": b.INT, "run_date": b.DATETIME, **optional}
    defaults = {
        "region": b.str_literal("eu"),
        "f": literals_pb2.Literal(
            scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(float_value=1.5))
        ),
        "b": b.bool_literal(False),
        "d": literals_pb2.Literal(
            scalar=literals_pb2.Scalar(
                primitive=literals_pb2.Primitive(duration=duration_pb2.Duration(seconds=60))
            )
        ),
        "l": literals_pb2.Literal(collection=literals_pb2.LiteralCollection(literals=[])),
        "m": literals_pb2.Literal(map=literals_pb2.LiteralMap(literals={})),
    }
    stub.CreateTask(task_pb2.TaskCreateRequest(id=b.task_id(), spec=b.task_spec()))
    stub.CreateWorkflow(
        workflow_pb2.WorkflowCreateRequest(id=b.workflow_id(), spec=b.workflow_spec(inputs=inputs))
    )
    default = b.lp_spec(b.workflow_id(), defaults=defaults, types=inputs)
    stub.CreateLaunchPlan(launch_plan_pb2.LaunchPlanCreateRequest(id=b.lp_id("wf"), spec=default))
    daily = b.lp_spec(
        b.workflow_id(),
        defaults={**defaults, "a": b.int_literal(1)},
        types=inputs,
    )
    daily.entity_metadata.schedule.cron_schedule.schedule = "0 6 * * *"
    daily.entity_metadata.schedule.kickoff_time_input_arg = "run_date"
    stub.CreateLaunchPlan(launch_plan_pb2.LaunchPlanCreateRequest(id=b.lp_id("daily"), spec=daily))
    owned = b.lp_spec(b.workflow_id(), defaults=defaults, types=inputs)
    owned.annotations.values["reconciler.flyte.org/owner"] = "team-manifests"
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(id=b.lp_id("owned-old"), spec=owned)
    )
    for name in ("daily", "owned-old"):
        stub.UpdateLaunchPlan(
            launch_plan_pb2.LaunchPlanUpdateRequest(id=b.lp_id(name), state=launch_plan_pb2.ACTIVE)
        )
    b.register_gated(stub)
    for name in ("gated-run", "waiting-n"):
        stub.CreateExecution(
            b.execution_request(
                name, launch_plan=b.lp_id("gated"), inputs=b.literal_map(a=b.int_literal(1))
            )
        )
    stub.CreateExecution(
        b.execution_request(
            "run-1",
            launch_plan=b.lp_id("wf"),
            inputs=b.literal_map(a=b.int_literal(1), run_date=b.datetime_literal(0), **defaults),
        )
    )
    admin.advance(60)
    signals = signal_pb2_grpc.SignalServiceStub(channel)
    signals.SetSignal(
        signal_pb2.SignalSetRequest(
            id=identifier_pb2.SignalIdentifier(
                signal_id="ok",
                execution_id=identifier_pb2.WorkflowExecutionIdentifier(
                    project=b.PROJECT, domain=b.DOMAIN, name="waiting-n"
                ),
            ),
            value=b.bool_literal(True),
        )
    )
    admin.advance(1)
