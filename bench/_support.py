"""Shared by the benchmarks: entities to register, and a server interceptor that counts calls
and can add latency (a stand-in for the network between CI and a real Admin)."""

from __future__ import annotations

import threading
import time
from collections import Counter
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
