"""Shared by the benchmarks: entities to register, and a server interceptor that counts calls
and can add latency (a stand-in for the network between CI and a real Admin)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from flyteidl.admin import launch_plan_pb2, task_pb2, workflow_pb2
from flyteidl.core import identifier_pb2, interface_pb2, literals_pb2, tasks_pb2, types_pb2
from flyteidl.core import workflow_pb2 as core_workflow

PROJECT, DOMAIN = "flytesnacks", "development"
INT = types_pb2.LiteralType(simple=types_pb2.SimpleType.INTEGER)
STR = types_pb2.LiteralType(simple=types_pb2.SimpleType.STRING)


class CallMeter(grpc.ServerInterceptor):  # type: ignore[misc]
    """Counts every RPC by method; sleeps ``latency`` seconds before each when set.

    The sleep runs in the server's worker thread, as part of the call: grpcio runs
    ``intercept_service`` itself on the one thread that accepts calls (under the server's
    lock), so sleeping there would make every call wait for all the calls before it, whatever
    the client's parallelism."""

    def __init__(self) -> None:
        self.latency = 0.0
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def intercept_service(self, continuation: Any, details: Any) -> Any:
        with self._lock:
            self.calls[details.method.rsplit("/", 1)[-1]] += 1
        handler = continuation(details)
        latency = self.latency
        if not latency or handler is None:
            return handler
        kind = next(
            k
            for k in ("unary_unary", "unary_stream", "stream_unary", "stream_stream")
            if getattr(handler, k) is not None
        )
        behaviour = getattr(handler, kind)

        def delayed(request: Any, context: Any) -> Any:
            time.sleep(latency)
            return behaviour(request, context)

        return handler._replace(**{kind: delayed})

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def _id(kind: int, name: str, version: str = "v1") -> identifier_pb2.Identifier:
    return identifier_pb2.Identifier(
        resource_type=kind, project=PROJECT, domain=DOMAIN, name=name, version=version
    )


def register_workflow(stub: Any) -> None:
    """Task ``t`` and workflow ``wf`` (a: int, region: str) with its default launch plan."""
    variables = {"a": interface_pb2.Variable(type=INT), "region": interface_pb2.Variable(type=STR)}
    task = _id(identifier_pb2.TASK, "t")
    stub.CreateTask(
        task_pb2.TaskCreateRequest(
            id=task,
            spec=task_pb2.TaskSpec(
                template=tasks_pb2.TaskTemplate(
                    type="python-task",
                    interface=interface_pb2.TypedInterface(
                        inputs=interface_pb2.VariableMap(variables={"a": variables["a"]}),
                        outputs=interface_pb2.VariableMap(variables={"o0": variables["a"]}),
                    ),
                    container=tasks_pb2.Container(image="python:3.11", args=["run"]),
                )
            ),
        )
    )
    promise = literals_pb2.BindingData(promise=types_pb2.OutputReference(node_id="", var="a"))
    node = core_workflow.Node(
        id="n0",
        metadata=core_workflow.NodeMetadata(name="n0"),
        inputs=[literals_pb2.Binding(var="a", binding=promise)],
        task_node=core_workflow.TaskNode(reference_id=task),
    )
    output = literals_pb2.BindingData(promise=types_pb2.OutputReference(node_id="n0", var="o0"))
    workflow = _id(identifier_pb2.WORKFLOW, "wf")
    stub.CreateWorkflow(
        workflow_pb2.WorkflowCreateRequest(
            id=workflow,
            spec=workflow_pb2.WorkflowSpec(
                template=core_workflow.WorkflowTemplate(
                    interface=interface_pb2.TypedInterface(
                        inputs=interface_pb2.VariableMap(variables=variables),
                        outputs=interface_pb2.VariableMap(variables={"o0": variables["a"]}),
                    ),
                    nodes=[node],
                    outputs=[literals_pb2.Binding(var="o0", binding=output)],
                )
            ),
        )
    )
    parameters = {n: interface_pb2.Parameter(var=v, required=True) for n, v in variables.items()}
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(
            id=_id(identifier_pb2.LAUNCH_PLAN, "wf"),
            spec=launch_plan_pb2.LaunchPlanSpec(
                workflow_id=workflow,
                default_inputs=interface_pb2.ParameterMap(parameters=parameters),
            ),
        )
    )


# --- scale benchmarks: manifests, a served Admin, measured child processes ---------------------

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


def write_manifests(
    root: Path, launch_plans: int, executions: int, *, parallelism: int | None = None
) -> None:
    """``launch_plans`` LaunchPlans of workflow ``wf`` and ``executions`` Executions of them,
    500 documents per file (two files per 1,000 manifests)."""
    root.mkdir(parents=True, exist_ok=True)
    settings = f"defaults: {{project: {PROJECT}, domain: {DOMAIN}}}\nownerId: bench\n"
    if parallelism is not None:
        settings += f"parallelism: {parallelism}\n"
    (root / "reconciler.yaml").write_text(settings)
    per_file = 500
    for start in range(0, launch_plans, per_file):
        (root / f"launchplans-{start:06d}.yaml").write_text(
            "".join(
                "apiVersion: reconciler/v1\nkind: LaunchPlan\n"
                f"metadata: {{name: lp-{i}}}\n"
                "spec:\n  version: v1\n  workflow: {name: wf, version: v1}\n"
                f"  defaultInputs: {{a: {i}, region: eu}}\n  labels: {{team: t{i % 7}}}\n---\n"
                for i in range(start, min(start + per_file, launch_plans))
            )
        )
    for start in range(0, executions, per_file):
        (root / f"executions-{start:06d}.yaml").write_text(
            "".join(
                "apiVersion: reconciler/v1\nkind: Execution\n"
                f"metadata: {{name: run-{i}}}\n"
                f"spec:\n  launchPlan: {{name: lp-{i % max(launch_plans, 1)}, version: v1}}\n"
                f"  inputs: {{a: {i}}}\n---\n"
                for i in range(start, min(start + per_file, executions))
            )
        )


@contextlib.contextmanager
def served_admin(temp: Path, workers: int = 64) -> Iterator[tuple[Any, CallMeter]]:
    """The local Admin in this process with workflow ``wf`` registered and a ``CallMeter``;
    the clients under test run in child processes, so that they do not share a GIL with it.
    ``workers`` is above any client parallelism measured: the injected latency sleeps in a
    server thread."""
    from flyteidl.service import admin_pb2_grpc

    from reconciler.localadmin import LocalAdmin, ManualClock

    logging.disable(logging.WARNING)
    meter = CallMeter()
    with LocalAdmin(
        clock=ManualClock(), data_dir=temp / "admin-data", interceptors=[meter], workers=workers
    ) as admin:
        with grpc.insecure_channel(admin.endpoint) as channel:
            register_workflow(admin_pb2_grpc.AdminServiceStub(channel))
        meter.reset()
        yield admin, meter


@contextlib.contextmanager
def stub_admin(workers: int = 64) -> Iterator[tuple[str, CallMeter]]:
    """An AdminService that answers ``CreateExecution`` (and ``GetVersion``) at once, behind a
    ``CallMeter``: with it, apply's time is the injected latency and the client's own work,
    as against a real Admin on other machines; the local Admin shares this machine's cores."""
    from concurrent import futures

    from flyteidl.admin import execution_pb2, version_pb2
    from flyteidl.core import identifier_pb2
    from flyteidl.service import admin_pb2_grpc

    class Stub(admin_pb2_grpc.AdminServiceServicer):  # type: ignore[misc]
        def CreateExecution(self, request: Any, context: Any) -> Any:
            return execution_pb2.ExecutionCreateResponse(
                id=identifier_pb2.WorkflowExecutionIdentifier(
                    project=request.project, domain=request.domain, name=request.name
                )
            )

        def GetVersion(self, request: Any, context: Any) -> Any:
            return version_pb2.GetVersionResponse()

    meter = CallMeter()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers), interceptors=[meter])
    admin_pb2_grpc.add_AdminServiceServicer_to_server(Stub(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}", meter
    finally:
        server.stop(grace=None).wait(timeout=10)


@dataclass(frozen=True)
class ChildRun:
    """A finished child process: wall time, its own CPU time and peak RSS, what it printed."""

    wall: float
    cpu: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        """The JSON object the child printed last on stdout (see ``_client.py``)."""
        for line in reversed(self.stdout.splitlines()):
            if line.startswith("{"):
                loaded: dict[str, Any] = json.loads(line)
                return loaded
        raise RuntimeError(f"child printed no result:\n{self.stdout[-2000:]}{self.stderr[-2000:]}")


def child_env(home: Path, code: Path = REPO) -> dict[str, str]:
    """No developer's ~/.flyte config or FLYTE_* variables; the ``reconciler`` package from
    ``code`` (this checkout, or an older one to compare with) first on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLYTE")}
    env.pop("RECONCILER_DEBUG", None)
    env["HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(code), env.get("PYTHONPATH", "")) if p)
    return env


def own_cpu() -> float:
    """CPU seconds of this process so far, all threads: the local Admin's share of a run."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_child(argv: list[str], env: dict[str, str], *, check: bool = True) -> ChildRun:
    """Run ``python argv...``; its peak RSS comes from ``wait4`` for that very process (not
    ``RUSAGE_CHILDREN``, which is the largest of all children so far)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, *argv], stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        cpu = usage.ru_utime + usage.ru_stime
        run = ChildRun(
            wall, cpu, usage.ru_maxrss / 1024, process.returncode, out.read(), err.read()
        )
    if check and run.returncode not in (0, 2):
        raise RuntimeError(f"{argv[:3]} exited {run.returncode}:\n{run.stderr[-3000:]}")
    return run


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import platform

    import google.protobuf
    from google.protobuf.internal import api_implementation

    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = 0.0
    with contextlib.suppress(OSError, ValueError, IndexError):
        first = Path("/proc/meminfo").read_text().splitlines()[0]
        memory = int(first.split()[1]) / 1024 / 1024
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(memory, 1),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "grpcio": grpc.__version__,
        "protobuf": f"{google.protobuf.__version__} ({api_implementation.Type()})",
        "load_average": os.getloadavg()[0],
    }
