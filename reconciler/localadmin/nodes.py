"""What each kind of node does in the simulated engine (:mod:`engine` decides when a node
starts and is polled; this module starts it, polls it, and records it through
:class:`~reconciler.localadmin.node_executions.NodeExecutions`).

* task nodes finish ``task_seconds`` after they start, with one task execution (attempt 0). Their
  outputs are **simulated**: the zero value of each declared output type (``0``, ``0.0``, ``""``,
  ``False``, the epoch, empty list/map, ``None`` for optionals, the first enum value) - see
  :func:`literals.default_literal` - except files and directories, which are real files in the
  blob store naming the output, node and execution, fetchable through DataProxy - see
  :mod:`outputs`;
* gate nodes: an approve gate creates a boolean signal and waits: ``True`` passes its input
  through, ``False`` fails the node ("rejected"); a ``wait_for_input`` gate creates a signal of
  its type and outputs the value set; a sleep gate waits for its duration on the clock; a gate
  whose node ``timeout`` passes fails as TIMED_OUT;
* launch-plan nodes create a child execution (mode ``CHILD_WORKFLOW``, ``metadata.parent_node_
  execution`` and ``workflow_node_metadata.executionId`` recorded, name ``f`` + 19 hex digits of
  a hash of parent and node) and finish with it, taking its outputs;
* sub-workflow nodes run their template's nodes as children (``is_parent_node``; child ids
  ``<parent>-0-<node>``, ``spec_node_id`` the inner id, listed with ``unique_parent_id``), with
  the same rules as the top level, and take the sub-workflow's outputs;
* branch and array (map task) nodes run as one unit for ``task_seconds`` with zero-value outputs
  (a map task gives one zero value per mapped item); their inner nodes are not recorded. Branch
  conditions **are** evaluated on the branch node's inputs (:mod:`branches`): the outputs are
  those of the selected case, no match fails the node;
* recovery: in a ``RECOVERED`` execution a node that succeeded in the reference execution is
  recorded ``RECOVERED`` with the reference's outputs instead of running again.

Two settings steer a run; the engine reads them, as it reads every label and annotation, from
the execution's resolved spec (``Executions.resolved_spec``), so they can also come from a
launch plan or a matchable ``WORKFLOW_EXECUTION_CONFIG`` although the spec GetExecution returns
does not show them.

Output override (to give a run meaningful outputs): an execution annotation
``localadmin/outputs`` holding a JSON object ``{"<node id or name>": {"<output>": <value>}}``
replaces the zero values of those outputs of task and compound nodes. JSON values are converted
by the declared type (numbers, strings, booleans, ISO 8601 datetimes, durations in seconds,
lists, maps, null for optionals); a value that does not fit fails the run with a SYSTEM error.

Failure injection (to exercise recover / relaunch): an execution label
``localadmin/fail-node: <node>`` makes the node with that id or that ``metadata.name`` (flytekit
puts the task function's name there) fail with a USER error when its work is done; the label
``localadmin/fail-attempts: N`` (default 1) limits this to the first N executions of a relaunch
chain (the original counts as 1, each relaunch or recovery of it adds one), so that a recovery or
relaunch of a failed run succeeds, like a transient failure that went away. For an execution of a
single task the node id (and name) is the task name with everything but letters, digits and ``-``
removed, or, when that is longer than 20 characters, ``f`` + a hash of it (Admin hashes too,
differently): read it from ``ListNodeExecutions``. Only task and compound nodes can be made to
fail this way; gates and launch-plan nodes fail through their signals and child executions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from flyteidl.admin import execution_pb2, node_execution_pb2, task_execution_pb2
from flyteidl.core import compiler_pb2, identifier_pb2, literals_pb2, types_pb2
from flyteidl.core import execution_pb2 as core_exec_pb2
from flyteidl.core import workflow_pb2 as core_wf_pb2

from reconciler.localadmin import branches, literals
from reconciler.localadmin.entities import START_NODE
from reconciler.localadmin.executions import TERMINAL, Executions, Mode, Phase, execution_key
from reconciler.localadmin.node_executions import NodeExecutions, NodePhase, TaskPhase
from reconciler.localadmin.outputs import node_dir, simulated_output
from reconciler.localadmin.protos import parse, timestamp
from reconciler.localadmin.signals import Signals
from reconciler.localadmin.store import Row, Store

FAIL_NODE_LABEL = "localadmin/fail-node"
FAIL_ATTEMPTS_LABEL = "localadmin/fail-attempts"
OUTPUTS_ANNOTATION = "localadmin/outputs"

_TASK_PHASE = {
    NodePhase.SUCCEEDED: TaskPhase.SUCCEEDED,
    NodePhase.FAILED: TaskPhase.FAILED,
    NodePhase.ABORTED: TaskPhase.ABORTED,
    NodePhase.TIMED_OUT: TaskPhase.FAILED,
}


class SimulationError(Exception):
    """The engine cannot run this workflow (an unresolvable binding); the run fails SYSTEM."""


@dataclass
class Run:
    """One execution being stepped: its record, its workflow and its nodes so far."""

    row: Row
    execution: execution_pb2.Execution
    closure: compiler_pb2.CompiledWorkflowClosure
    nodes: dict[str, node_execution_pb2.NodeExecution] = field(default_factory=dict)
    outputs: dict[str, literals_pb2.LiteralMap] = field(default_factory=dict)
    changed: bool = False
    # the resolved spec (Executions.resolved_spec): the labels and annotations the workflow CRD
    # carries, which include launch plan, matchable and project ones the stored spec lacks
    settings: execution_pb2.ExecutionSpec = field(default_factory=execution_pb2.ExecutionSpec)


@dataclass(frozen=True)
class Scope:
    """The nodes of one workflow template inside a run: the top level or a sub-workflow.

    Node execution ids are ``prefix + node id``; a sub-workflow's children get the prefix
    ``<parent id>-0-`` as propeller names them, and record the parent node's id.
    """

    template: core_wf_pb2.WorkflowTemplate
    inputs: literals_pb2.LiteralMap
    prefix: str = ""
    parent: str = ""

    def full(self, node_id: str) -> str:
        return self.prefix + node_id


@dataclass(frozen=True)
class Outcome:
    error: core_exec_pb2.ExecutionError | None = None
    outputs: literals_pb2.LiteralMap | None = None


class Nodes:
    """Starts and polls the nodes of a run, each after its kind; the engine says which node
    is due, this says what happens to it and records it."""

    def __init__(
        self,
        store: Store,
        executions: Executions,
        records: NodeExecutions,
        signals: Signals,
        *,
        data_dir: Path,
        task_seconds: float,
        wake_at: Callable[[float], None],
        advance_scope: Callable[[Run, Scope, float], Outcome | None],
    ) -> None:
        self.store = store
        self.executions = executions
        self.records = records
        self.signals = signals
        self.data_dir = data_dir
        self.task_seconds = task_seconds
        # the engine's: note when something falls due; step a sub-workflow's nodes
        self._wake_at = wake_at
        self._advance_scope = advance_scope

    # -- start -------------------------------------------------------------------------------

    def start(self, run: Run, scope: Scope, node: core_wf_pb2.Node, now: float) -> None:
        """Record the node RUNNING with its inputs resolved, then start its kind of work (or
        take the outputs a recovered execution's reference already has)."""
        full = scope.full(node.id)
        inputs = literals_pb2.LiteralMap()
        for binding in node.inputs:
            inputs.literals[binding.var].CopyFrom(self.resolve(run, scope, binding.binding))
        recovered = self._recovered_outputs(run, full)
        sub_workflow = self._sub_workflow(run, node)
        record = self.record(
            run,
            scope,
            node.id,
            now,
            inputs=inputs,
            phase=NodePhase.RUNNING,
            is_array=node.HasField("array_node"),
            is_parent=sub_workflow is not None and recovered is None,
        )
        if recovered is not None:
            self.set_node(run, full, NodePhase.RECOVERED, now, outputs=recovered)
            return
        if node.HasField("task_node"):
            self._start_task(run, node, full, inputs, now)
        elif node.HasField("workflow_node") and node.workflow_node.HasField("launchplan_ref"):
            child = self.executions.create_child(
                run.execution,
                full,
                node.workflow_node.launchplan_ref,
                inputs,
                _child_name(run.execution.id, full),
            )
            record.closure.workflow_node_metadata.CopyFrom(
                node_execution_pb2.WorkflowNodeMetadata(executionId=child)
            )
            self.save_node(run, full, now)
        elif node.HasField("gate_node"):
            self._start_gate(run, node)

    def record(
        self,
        run: Run,
        scope: Scope,
        spec_node_id: str,
        now: float,
        *,
        inputs: literals_pb2.LiteralMap,
        phase: core_exec_pb2.NodeExecution.Phase,
        is_array: bool = False,
        is_parent: bool = False,
    ) -> node_execution_pb2.NodeExecution:
        """A new node execution in ``phase`` (the engine records ``start-node`` and ``end-node``
        with this too)."""
        node_id = scope.full(spec_node_id)
        record = node_execution_pb2.NodeExecution(
            id=identifier_pb2.NodeExecutionIdentifier(
                node_id=node_id, execution_id=run.execution.id
            ),
            closure=node_execution_pb2.NodeExecutionClosure(
                phase=phase,
                started_at=timestamp(now),
                created_at=timestamp(now),
                updated_at=timestamp(now),
            ),
            metadata=node_execution_pb2.NodeExecutionMetaData(
                spec_node_id=spec_node_id,
                is_array=is_array,
                is_parent_node=is_parent,
                retry_group="0" if scope.parent else "",
            ),
        )
        run.nodes[node_id] = record
        run.changed = True
        self.records.insert_node(record, parent=scope.parent, inputs=inputs, now=now)
        return record

    def _sub_workflow(
        self, run: Run, node: core_wf_pb2.Node
    ) -> core_wf_pb2.WorkflowTemplate | None:
        if not node.HasField("workflow_node") or not node.workflow_node.HasField(
            "sub_workflow_ref"
        ):
            return None
        for sub in run.closure.sub_workflows:
            if sub.template.id == node.workflow_node.sub_workflow_ref:
                return cast(core_wf_pb2.WorkflowTemplate, sub.template)
        raise SimulationError(f"sub-workflow of node {node.id} is not in the compiled closure")

    def _start_task(
        self,
        run: Run,
        node: core_wf_pb2.Node,
        full: str,
        inputs: literals_pb2.LiteralMap,
        now: float,
    ) -> None:
        task_id = node.task_node.reference_id
        record = task_execution_pb2.TaskExecution(
            id=identifier_pb2.TaskExecutionIdentifier(
                task_id=task_id,
                node_execution_id=run.nodes[full].id,
                retry_attempt=0,
            ),
            closure=task_execution_pb2.TaskExecutionClosure(
                phase=TaskPhase.RUNNING,
                started_at=timestamp(now),
                created_at=timestamp(now),
                updated_at=timestamp(now),
                task_type=self._task_template(run, task_id).type,
                reason="simulated by the local Admin: user code does not run",
            ),
        )
        self.records.insert_task(record, inputs=inputs, now=now)

    def _start_gate(self, run: Run, node: core_wf_pb2.Node) -> None:
        gate = node.gate_node
        signal_id = identifier_pb2.SignalIdentifier(execution_id=run.execution.id)
        if gate.HasField("approve"):
            signal_id.signal_id = gate.approve.signal_id
            self.signals.get_or_create(signal_id, literals.BOOLEAN_TYPE)
        elif gate.HasField("signal"):
            signal_id.signal_id = gate.signal.signal_id
            self.signals.get_or_create(signal_id, gate.signal.type)

    # -- poll --------------------------------------------------------------------------------

    def poll(
        self,
        run: Run,
        scope: Scope,
        node: core_wf_pb2.Node,
        current: node_execution_pb2.NodeExecution,
        now: float,
    ) -> None:
        started = current.closure.started_at.ToNanoseconds() / 1e9
        full = scope.full(node.id)
        if node.HasField("gate_node"):
            self._poll_gate(run, node, full, started, now)
            return
        sub_workflow = self._sub_workflow(run, node)
        if sub_workflow is not None:
            self._poll_sub_workflow(run, sub_workflow, full, now)
        elif node.HasField("workflow_node") and node.workflow_node.HasField("launchplan_ref"):
            self._poll_child_execution(run, current, full, now)
        elif now < started + self.task_seconds:
            self._wake_at(started + self.task_seconds)
        else:
            self._complete_unit(run, node, full, now)

    def _poll_gate(
        self, run: Run, node: core_wf_pb2.Node, full: str, started: float, now: float
    ) -> None:
        gate = node.gate_node
        if gate.HasField("sleep"):
            wake = started + gate.sleep.duration.ToNanoseconds() / 1e9
            if now >= wake:
                self.set_node(
                    run, full, NodePhase.SUCCEEDED, now, outputs=literals_pb2.LiteralMap()
                )
            else:
                self._wake_at(wake)
            return
        signal_name = gate.approve.signal_id if gate.HasField("approve") else gate.signal.signal_id
        signal = self.signals.get(
            identifier_pb2.SignalIdentifier(signal_id=signal_name, execution_id=run.execution.id)
        )
        if signal is not None and signal.HasField("value"):
            if gate.HasField("approve"):
                if literals.boolean_value(signal.value):
                    # an approve gate passes its input through
                    inputs = self._node_inputs(run, full)
                    self.set_node(run, full, NodePhase.SUCCEEDED, now, outputs=inputs)
                else:
                    error = execution_error("UserRejected", f"gate {signal_name} was rejected")
                    self.set_node(run, full, NodePhase.FAILED, now, error=error)
            else:
                outputs = literals_pb2.LiteralMap()
                outputs.literals[gate.signal.output_variable_name].CopyFrom(signal.value)
                self.set_node(run, full, NodePhase.SUCCEEDED, now, outputs=outputs)
            return
        timeout = node.metadata.timeout.ToNanoseconds() / 1e9
        if timeout and now >= started + timeout:
            error = execution_error(
                "GateTimedOut", f"gate {signal_name} timed out waiting for its signal"
            )
            self.set_node(run, full, NodePhase.TIMED_OUT, now, error=error)
        elif timeout:
            self._wake_at(started + timeout)

    def _poll_sub_workflow(
        self, run: Run, template: core_wf_pb2.WorkflowTemplate, full: str, now: float
    ) -> None:
        # a sub-workflow runs its own nodes as children of this one (is_parent_node)
        scope = Scope(template, self._node_inputs(run, full), f"{full}-0-", full)
        outcome = self._advance_scope(run, scope, now)
        if outcome is not None and outcome.error is not None:
            self.set_node(run, full, NodePhase.FAILED, now, error=outcome.error)
        elif outcome is not None:
            self.set_node(run, full, NodePhase.SUCCEEDED, now, outputs=outcome.outputs)

    def _poll_child_execution(
        self, run: Run, current: node_execution_pb2.NodeExecution, full: str, now: float
    ) -> None:
        child_id = current.closure.workflow_node_metadata.executionId
        child = self.store.get("executions", execution_key(child_id))
        if child is None or Phase.Value(child["phase"]) not in TERMINAL:
            return
        if child["phase"] == Phase.Name(Phase.SUCCEEDED):
            outputs = parse(literals_pb2.LiteralMap, child["outputs"] or b"")
            self.set_node(run, full, NodePhase.SUCCEEDED, now, outputs=outputs)
            return
        child_exec = parse(execution_pb2.Execution, child["data"])
        error = (
            child_exec.closure.error
            if child_exec.closure.HasField("error")
            else execution_error(
                "ChildExecutionFailed", f"child execution {child_id.name} ended {child['phase']}"
            )
        )
        self.set_node(run, full, NodePhase.FAILED, now, error=error)

    def _complete_unit(self, run: Run, node: core_wf_pb2.Node, full: str, now: float) -> None:
        """A task or compound node whose simulated work is done: fail it or give it outputs."""
        if self._injected_failure(run, node, full):
            error = execution_error(
                "SimulatedFailure",
                f"node {full} failed because of the {FAIL_NODE_LABEL} label",
            )
            self.set_node(run, full, NodePhase.FAILED, now, error=error)
            return
        outputs = literals_pb2.LiteralMap()
        declared: dict[str, types_pb2.LiteralType] = {}
        base = node_dir(self.data_dir, run.execution.id, full)
        node_id = full
        override = self._output_override(run, node, full)
        if node.HasField("branch_node"):
            try:
                # the branch node yields the outputs of the case its inputs select
                node = branches.choose(node, self._node_inputs(run, node_id))
            except branches.BranchError as exc:
                error = execution_error("BranchNodeError", str(exc))
                self.set_node(run, node_id, NodePhase.FAILED, now, error=error)
                return
        if node.HasField("array_node") and node.array_node.node.HasField("task_node"):
            # a map task yields one (zero) value per mapped item
            inner = self._task_template(run, node.array_node.node.task_node.reference_id)
            size = self._mapped_size(run, node_id)
            for name, variable in inner.interface.outputs.variables.items():
                # flytekit's map tasks declare list outputs already; older ones the item type
                item_type = variable.type
                if item_type.HasField("collection_type"):
                    item_type = item_type.collection_type
                items = [
                    literals.default_literal(item_type, base / name / str(index))
                    for index in range(size)
                ]
                outputs.literals[name].collection.literals.extend(items)
                declared[name] = variable.type
        else:
            for name, variable in self._output_variables(run, node).items():
                outputs.literals[name].CopyFrom(
                    simulated_output(variable.type, base / name, run.execution.id, full, name)
                )
                declared[name] = variable.type
        for name, value in override.items():
            if name not in declared:
                raise SimulationError(f"{OUTPUTS_ANNOTATION} names no output {name} of {node_id}")
            try:
                outputs.literals[name].CopyFrom(literals.from_json(value, declared[name]))
            except ValueError as exc:
                raise SimulationError(
                    f"{OUTPUTS_ANNOTATION}: output {name} of {node_id}: {exc}"
                ) from exc
        self.set_node(run, node_id, NodePhase.SUCCEEDED, now, outputs=outputs)

    def _output_override(self, run: Run, node: core_wf_pb2.Node, full: str) -> dict[str, Any]:
        text = run.settings.annotations.values.get(OUTPUTS_ANNOTATION)
        if not text:
            return {}
        try:
            table = json.loads(text)
        except ValueError as exc:
            raise SimulationError(f"{OUTPUTS_ANNOTATION} is not JSON: {exc}") from exc
        if not isinstance(table, dict):
            raise SimulationError(f"{OUTPUTS_ANNOTATION} must be a JSON object")
        keys = [full, node.id] + ([node.metadata.name] if node.metadata.name else [])
        found: object = next((table[k] for k in keys if k in table), {})
        if not isinstance(found, dict):
            raise SimulationError(f"{OUTPUTS_ANNOTATION}: {full} must map outputs to values")
        return found

    def _node_inputs(self, run: Run, node_id: str) -> literals_pb2.LiteralMap:
        row = self.records.find(
            identifier_pb2.NodeExecutionIdentifier(node_id=node_id, execution_id=run.execution.id)
        )
        return parse(literals_pb2.LiteralMap, row["inputs"]) if row else literals_pb2.LiteralMap()

    def _mapped_size(self, run: Run, node_id: str) -> int:
        inputs = self._node_inputs(run, node_id)
        sizes = [
            len(v.collection.literals) for v in inputs.literals.values() if v.HasField("collection")
        ]
        return max(sizes, default=0)

    # -- records -----------------------------------------------------------------------------

    def set_node(
        self,
        run: Run,
        node_id: str,
        phase: core_exec_pb2.NodeExecution.Phase,
        now: float,
        *,
        outputs: literals_pb2.LiteralMap | None = None,
        error: core_exec_pb2.ExecutionError | None = None,
    ) -> None:
        record = run.nodes[node_id]
        record.closure.phase = phase
        if error is not None:
            record.closure.error.CopyFrom(error)
        if outputs is not None:
            run.outputs[node_id] = outputs
        self.save_node(run, node_id, now, outputs)
        task_phase = _TASK_PHASE.get(phase)
        if task_phase is not None:
            self.records.finish_task(record.id, task_phase, now, outputs=outputs, error=error)

    def save_node(
        self, run: Run, node_id: str, now: float, outputs: literals_pb2.LiteralMap | None = None
    ) -> None:
        self.records.save_node(run.nodes[node_id], now, outputs)
        run.changed = True

    # -- inputs and outputs ------------------------------------------------------------------

    def resolve(
        self, run: Run, scope: Scope, data: literals_pb2.BindingData
    ) -> literals_pb2.Literal:
        kind = data.WhichOneof("value")
        if kind == "scalar":
            return literals_pb2.Literal(scalar=data.scalar)
        if kind == "collection":
            return literals_pb2.Literal(
                collection=literals_pb2.LiteralCollection(
                    literals=[self.resolve(run, scope, b) for b in data.collection.bindings]
                )
            )
        if kind == "map":
            result = literals_pb2.Literal(map=literals_pb2.LiteralMap())
            for key, value in data.map.bindings.items():
                result.map.literals[key].CopyFrom(self.resolve(run, scope, value))
            return result
        if kind == "promise":
            promise = data.promise
            if promise.node_id in ("", START_NODE):
                source = scope.inputs
            else:
                source = run.outputs.get(scope.full(promise.node_id), literals_pb2.LiteralMap())
            if promise.var not in source.literals:
                raise SimulationError(
                    f"cannot resolve {promise.node_id or 'start-node'}.{promise.var}"
                )
            if promise.attr_path:
                raise SimulationError("attribute access on promises is not simulated")
            return cast(literals_pb2.Literal, source.literals[promise.var])
        if kind == "offloaded_metadata":
            raise SimulationError("offloaded literals are not simulated")
        return literals_pb2.Literal(scalar=literals_pb2.Scalar(none_type=literals_pb2.Void()))

    def _task_template(self, run: Run, task_id: identifier_pb2.Identifier) -> Any:
        for task in run.closure.tasks:
            t = task.template.id
            if (t.project, t.domain, t.name, t.version) == (
                task_id.project,
                task_id.domain,
                task_id.name,
                task_id.version,
            ):
                return task.template
        raise SimulationError(f"task {task_id.name} is not part of the compiled workflow")

    def _output_variables(self, run: Run, node: core_wf_pb2.Node) -> Any:
        if node.HasField("task_node"):
            return self._task_template(run, node.task_node.reference_id).interface.outputs.variables
        if node.HasField("workflow_node"):
            ref = node.workflow_node.sub_workflow_ref
            for sub in run.closure.sub_workflows:
                if sub.template.id == ref:
                    return sub.template.interface.outputs.variables
        return {}

    def _injected_failure(self, run: Run, node: core_wf_pb2.Node, full: str) -> bool:
        labels = run.settings.labels.values
        if labels.get(FAIL_NODE_LABEL) not in (full, node.id, node.metadata.name or node.id):
            return False
        try:
            allowed = int(labels.get(FAIL_ATTEMPTS_LABEL, "1"))
        except ValueError:
            allowed = 1
        return self._attempt(run.execution) <= allowed

    def _attempt(self, execution: execution_pb2.Execution) -> int:
        attempt = 1
        current = execution
        while current.spec.metadata.HasField("reference_execution") and attempt < 1000:
            row = self.store.get(
                "executions", execution_key(current.spec.metadata.reference_execution)
            )
            if row is None:
                break
            current = parse(execution_pb2.Execution, row["data"])
            attempt += 1
        return attempt

    def _recovered_outputs(self, run: Run, node_id: str) -> literals_pb2.LiteralMap | None:
        metadata = run.execution.spec.metadata
        if metadata.mode != Mode.RECOVERED or not metadata.HasField("reference_execution"):
            return None
        reference = metadata.reference_execution
        row = self.records.find(
            identifier_pb2.NodeExecutionIdentifier(node_id=node_id, execution_id=reference)
        )
        if row is None or NodePhase.Value(row["phase"]) not in (
            NodePhase.SUCCEEDED,
            NodePhase.RECOVERED,
        ):
            return None
        return parse(literals_pb2.LiteralMap, row["outputs"] or b"")


def _child_name(parent: identifier_pb2.WorkflowExecutionIdentifier, node_id: str) -> str:
    digest = hashlib.sha256(f"{parent.project}/{parent.domain}/{parent.name}/{node_id}".encode())
    return "f" + digest.hexdigest()[:19]


def execution_error(code: str, message: str, system: bool = False) -> core_exec_pb2.ExecutionError:
    kind = core_exec_pb2.ExecutionError.SYSTEM if system else core_exec_pb2.ExecutionError.USER
    return core_exec_pb2.ExecutionError(code=code, message=message, kind=kind)
