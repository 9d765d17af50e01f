"""Hand-built flyteidl entities for the semantics tests (no flytekit involved)."""

from __future__ import annotations

from typing import Any

from flyteidl.admin import (
    common_pb2,
    execution_pb2,
    launch_plan_pb2,
    schedule_pb2,
    task_pb2,
    workflow_pb2,
)
from flyteidl.core import (
    identifier_pb2,
    interface_pb2,
    literals_pb2,
    tasks_pb2,
    types_pb2,
)
from flyteidl.core import workflow_pb2 as core_wf_pb2

PROJECT = "flytesnacks"
DOMAIN = "development"

INT = types_pb2.LiteralType(simple=types_pb2.SimpleType.INTEGER)
STR = types_pb2.LiteralType(simple=types_pb2.SimpleType.STRING)
DATETIME = types_pb2.LiteralType(simple=types_pb2.SimpleType.DATETIME)
BOOL = types_pb2.LiteralType(simple=types_pb2.SimpleType.BOOLEAN)


def ident(kind: int, name: str, version: str = "v1") -> identifier_pb2.Identifier:
    return identifier_pb2.Identifier(
        resource_type=kind, project=PROJECT, domain=DOMAIN, name=name, version=version
    )


def task_id(name: str = "t", version: str = "v1") -> identifier_pb2.Identifier:
    return ident(identifier_pb2.TASK, name, version)


def workflow_id(name: str = "wf", version: str = "v1") -> identifier_pb2.Identifier:
    return ident(identifier_pb2.WORKFLOW, name, version)


def lp_id(name: str = "lp", version: str = "v1") -> identifier_pb2.Identifier:
    return ident(identifier_pb2.LAUNCH_PLAN, name, version)


def variables(**types: types_pb2.LiteralType) -> interface_pb2.VariableMap:
    return interface_pb2.VariableMap(
        variables={k: interface_pb2.Variable(type=v) for k, v in types.items()}
    )


def interface(
    inputs: dict[str, types_pb2.LiteralType], outputs: dict[str, types_pb2.LiteralType]
) -> interface_pb2.TypedInterface:
    return interface_pb2.TypedInterface(inputs=variables(**inputs), outputs=variables(**outputs))


def task_spec(image: str = "python:3.11") -> task_pb2.TaskSpec:
    return task_pb2.TaskSpec(
        template=tasks_pb2.TaskTemplate(
            type="python-task",
            interface=interface({"a": INT}, {"o0": INT}),
            container=tasks_pb2.Container(image=image, args=["run"]),
        )
    )


def promise(node: str, var: str) -> literals_pb2.BindingData:
    from flyteidl.core import types_pb2 as t

    return literals_pb2.BindingData(promise=t.OutputReference(node_id=node, var=var))


def task_node(
    node_id: str,
    task: identifier_pb2.Identifier,
    source: literals_pb2.BindingData,
    upstream: tuple[str, ...] = (),
) -> core_wf_pb2.Node:
    return core_wf_pb2.Node(
        id=node_id,
        metadata=core_wf_pb2.NodeMetadata(name=node_id),
        inputs=[literals_pb2.Binding(var="a", binding=source)],
        upstream_node_ids=list(upstream),
        task_node=core_wf_pb2.TaskNode(reference_id=task),
    )


def workflow_spec(
    task: identifier_pb2.Identifier | None = None,
    nodes: list[core_wf_pb2.Node] | None = None,
    inputs: dict[str, types_pb2.LiteralType] | None = None,
    outputs: dict[str, types_pb2.LiteralType] | None = None,
    output_from: str = "n0",
) -> workflow_pb2.WorkflowSpec:
    """A workflow ``a: int -> o0: int``, by default one task node fed by input ``a``."""
    task = task or task_id()
    nodes = nodes if nodes is not None else [task_node("n0", task, promise("", "a"))]
    outputs = outputs if outputs is not None else {"o0": INT}
    return workflow_pb2.WorkflowSpec(
        template=core_wf_pb2.WorkflowTemplate(
            interface=interface(inputs if inputs is not None else {"a": INT}, outputs),
            nodes=nodes,
            outputs=[
                literals_pb2.Binding(var=name, binding=promise(output_from, name))
                for name in outputs
            ],
        )
    )


def int_literal(value: int) -> literals_pb2.Literal:
    return literals_pb2.Literal(
        scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=value))
    )


def str_literal(value: str) -> literals_pb2.Literal:
    return literals_pb2.Literal(
        scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(string_value=value))
    )


def bool_literal(value: bool) -> literals_pb2.Literal:
    return literals_pb2.Literal(
        scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(boolean=value))
    )


def datetime_literal(seconds: int = 0) -> literals_pb2.Literal:
    from google.protobuf import timestamp_pb2

    return literals_pb2.Literal(
        scalar=literals_pb2.Scalar(
            primitive=literals_pb2.Primitive(datetime=timestamp_pb2.Timestamp(seconds=seconds))
        )
    )


def literal_map(**values: literals_pb2.Literal) -> literals_pb2.LiteralMap:
    return literals_pb2.LiteralMap(literals=values)


def lp_spec(
    workflow: identifier_pb2.Identifier | None = None,
    *,
    defaults: dict[str, literals_pb2.Literal] | None = None,
    fixed: dict[str, literals_pb2.Literal] | None = None,
    types: dict[str, types_pb2.LiteralType] | None = None,
    schedule: schedule_pb2.Schedule | None = None,
    labels: dict[str, str] | None = None,
) -> launch_plan_pb2.LaunchPlanSpec:
    types = types or {"a": INT}
    spec = launch_plan_pb2.LaunchPlanSpec(
        workflow_id=workflow or workflow_id(),
        default_inputs=interface_pb2.ParameterMap(
            parameters={
                name: interface_pb2.Parameter(
                    var=interface_pb2.Variable(type=types[name]), default=value
                )
                for name, value in (defaults or {}).items()
            }
        ),
        fixed_inputs=literals_pb2.LiteralMap(literals=fixed or {}),
    )
    if schedule is not None:
        spec.entity_metadata.schedule.CopyFrom(schedule)
    if labels:
        spec.labels.CopyFrom(common_pb2.Labels(values=labels))
    return spec


def execution_request(
    name: str,
    launch_plan: identifier_pb2.Identifier | None = None,
    inputs: literals_pb2.LiteralMap | None = None,
    labels: dict[str, str] | None = None,
) -> execution_pb2.ExecutionCreateRequest:
    spec = execution_pb2.ExecutionSpec(
        launch_plan=launch_plan or lp_id(),
        metadata=execution_pb2.ExecutionMetadata(
            mode=execution_pb2.ExecutionMetadata.MANUAL, principal="placeholder"
        ),
    )
    if labels:
        spec.labels.CopyFrom(common_pb2.Labels(values=labels))
    return execution_pb2.ExecutionCreateRequest(
        project=PROJECT, domain=DOMAIN, name=name, spec=spec, inputs=inputs or literal_map()
    )


def register_gated(stub: Any) -> None:
    """Workflow ``gated``: approve gate ``ok`` on input a, then a wait_for_input gate ``n``
    (int, the workflow's output), and its launch plan, at v1. Needs task ``t`` registered."""
    approve = core_wf_pb2.Node(
        id="g0",
        inputs=[task_node("x", task_id(), promise("", "a")).inputs[0]],
        gate_node=core_wf_pb2.GateNode(approve=core_wf_pb2.ApproveCondition(signal_id="ok")),
    )
    wait = core_wf_pb2.Node(
        id="g1",
        upstream_node_ids=["g0"],
        gate_node=core_wf_pb2.GateNode(
            signal=core_wf_pb2.SignalCondition(signal_id="n", type=INT, output_variable_name="o0")
        ),
    )
    spec = workflow_spec(nodes=[approve, wait], output_from="g1")
    stub.CreateWorkflow(workflow_pb2.WorkflowCreateRequest(id=workflow_id("gated"), spec=spec))
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(
            id=lp_id("gated"), spec=lp_spec(workflow=workflow_id("gated"))
        )
    )
