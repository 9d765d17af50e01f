"""``GetExecutionMetrics``: an execution's timeline as a tree of spans.

This follows FlyteAdmin v1.16.8's ``flyteadmin/pkg/manager/impl/metrics_manager.go`` step by step,
over the records the simulated engine leaves (their created/started/updated times and durations
on the injected clock), read through the same listing calls Admin's manager uses:

* the execution span (``workflow_id``) holds ``WORKFLOW_SETUP`` (created -> start-node updated,
  or created -> updated while start-node is not there yet), one span per node execution of the
  top level in order of creation, and ``WORKFLOW_TEARDOWN`` (last upstream node of end-node
  updated -> execution updated, when not negative);
* a node span (``node_id``) starts with ``NODE_TRANSITION`` (its latest upstream node updated ->
  node created), then by kind: task nodes ``NODE_SETUP`` (created -> first task execution
  created), the task execution spans (``TASK_SETUP``, ``TASK_RUNTIME``, ``TASK_TEARDOWN``) with
  ``NODE_RESET`` between attempts, and ``NODE_TEARDOWN``; gate nodes ``NODE_SETUP``,
  ``NODE_IDLE`` (the wait) and ``NODE_TEARDOWN``; launch-plan nodes ``NODE_SETUP`` then the child
  execution's span; sub-workflow and branch nodes ``NODE_SETUP`` then their child node
  executions' spans;
* ``depth`` counts levels below the execution: 0 gives the bare execution span, 1 adds the
  top-level node spans without their insides, 2 adds those insides, and so on; a negative depth
  has no limit. flytekit asks for 10 by default.

The engine records no start-node inside a sub-workflow, so a sub-workflow's ``NODE_SETUP`` has
no end time (Admin's code reads a missing start node the same way). Branch nodes run as one unit
in the engine, so they show a single ``NODE_SETUP`` span, as Admin shows a branch whose chosen
node has not been recorded. Dynamic nodes are not simulated, so Admin's dynamic-node branch
(task executions followed by the dynamic workflow's nodes) is not reproduced.
"""

from __future__ import annotations

from collections.abc import Mapping

import grpc
from flyteidl.admin import execution_pb2, node_execution_pb2, task_execution_pb2
from flyteidl.core import compiler_pb2, identifier_pb2, metrics_pb2
from flyteidl.core import workflow_pb2 as core_wf_pb2
from google.protobuf import timestamp_pb2

from reconciler.localadmin.entities import END_NODE, START_NODE, Entities
from reconciler.localadmin.errors import AdminError
from reconciler.localadmin.executions import Executions
from reconciler.localadmin.node_executions import NodeExecutions

# metrics_manager.go RequestLimit: the page size of its node and task execution listings
REQUEST_LIMIT = 50

NODE_IDLE = "NODE_IDLE"
NODE_RESET = "NODE_RESET"
NODE_SETUP = "NODE_SETUP"
NODE_TEARDOWN = "NODE_TEARDOWN"
NODE_TRANSITION = "NODE_TRANSITION"
TASK_RUNTIME = "TASK_RUNTIME"
TASK_SETUP = "TASK_SETUP"
TASK_TEARDOWN = "TASK_TEARDOWN"
WORKFLOW_SETUP = "WORKFLOW_SETUP"
WORKFLOW_TEARDOWN = "WORKFLOW_TEARDOWN"


class Metrics:
    def __init__(
        self, entities: Entities, executions: Executions, node_executions: NodeExecutions
    ) -> None:
        self.entities = entities
        self.node_executions = node_executions
        self.executions = executions

    def execution_metrics(
        self, identifier: identifier_pb2.WorkflowExecutionIdentifier, depth: int
    ) -> execution_pb2.WorkflowExecutionGetMetricsResponse:
        execution = self.executions.get(identifier)
        return execution_pb2.WorkflowExecutionGetMetricsResponse(
            span=self._execution(execution, depth)
        )

    # -- executions --------------------------------------------------------------------------

    def _execution(self, execution: execution_pb2.Execution, depth: int) -> metrics_pb2.Span:
        closure = execution.closure
        spans: list[metrics_pb2.Span] = []
        if depth != 0:
            workflow = self.entities.get_workflow(closure.workflow_id)
            compiled = workflow.closure.compiled_workflow
            nodes = self._nodes(execution.id, "")
            start = nodes.get(START_NODE)
            if start is None or _unset(start.closure.updated_at):
                spans.append(_operation(closure.created_at, closure.updated_at, WORKFLOW_SETUP))
            else:
                spans.append(
                    _operation(closure.created_at, start.closure.updated_at, WORKFLOW_SETUP)
                )
                spans.extend(self._node_spans(nodes, compiled, depth - 1))
                last = _latest_upstream(END_NODE, compiled, nodes)
                if last is not None and not _before(closure.updated_at, last.closure.updated_at):
                    spans.append(
                        _operation(last.closure.updated_at, closure.updated_at, WORKFLOW_TEARDOWN)
                    )
        span = metrics_pb2.Span(workflow_id=execution.id, spans=spans)
        _times(span, closure.created_at, closure.updated_at)
        return span

    # -- node executions ---------------------------------------------------------------------

    def _nodes(
        self, execution_id: identifier_pb2.WorkflowExecutionIdentifier, parent: str
    ) -> dict[str, node_execution_pb2.NodeExecution]:
        """metrics_manager.go getNodeExecutions: every page, keyed by spec node id."""
        found: dict[str, node_execution_pb2.NodeExecution] = {}
        token = ""
        while True:
            page, token = self.node_executions.list_nodes(
                node_execution_pb2.NodeExecutionListRequest(
                    workflow_execution_id=execution_id,
                    limit=REQUEST_LIMIT,
                    unique_parent_id=parent,
                    token=token,
                )
            )
            for node in page:
                found[node.metadata.spec_node_id] = node
            if len(page) < REQUEST_LIMIT:
                return found

    def _node_spans(
        self,
        nodes: Mapping[str, node_execution_pb2.NodeExecution],
        compiled: compiler_pb2.CompiledWorkflowClosure,
        depth: int,
    ) -> list[metrics_pb2.Span]:
        """metrics_manager.go parseNodeExecutions: in order of creation, start-node and end-node
        left out, each prefixed with the transition from its latest upstream node."""
        spans = []
        ordered = sorted(nodes.values(), key=lambda n: n.closure.created_at.ToNanoseconds())
        for record in ordered:
            spec_id = record.metadata.spec_node_id
            if spec_id in (START_NODE, END_NODE):
                continue
            node = next((n for n in compiled.primary.template.nodes if n.id == spec_id), None)
            if node is None:
                raise AdminError(
                    grpc.StatusCode.INTERNAL,
                    f"failed to discover workflow node '{spec_id}' in workflow "
                    f"'{compiled.primary.template.id.name}'",
                )
            span = self._node(record, node, depth)
            upstream = _latest_upstream(spec_id, compiled, nodes)
            if upstream is not None:
                transition = _operation(
                    upstream.closure.updated_at, record.closure.created_at, NODE_TRANSITION
                )
                span.spans.insert(0, transition)
            spans.append(span)
        return spans

    def _node(
        self, record: node_execution_pb2.NodeExecution, node: core_wf_pb2.Node, depth: int
    ) -> metrics_pb2.Span:
        """metrics_manager.go parseNodeExecution: the node's insides by the kind of node."""
        spans: list[metrics_pb2.Span] = []
        if depth != 0:
            if node.HasField("branch_node"):
                self._branch(record, node.branch_node, spans, depth - 1)
            elif node.HasField("gate_node"):
                _gate(record, spans)
            elif node.HasField("task_node"):
                self._task_node(record, spans, depth - 1)
            elif node.HasField("workflow_node"):
                if node.workflow_node.HasField("launchplan_ref"):
                    self._launch_plan_node(record, spans, depth - 1)
                else:
                    self._sub_workflow(
                        record, node.workflow_node.sub_workflow_ref, spans, depth - 1
                    )
            # other kinds (array nodes): Admin logs "unsupported node type" and adds nothing
        span = metrics_pb2.Span(node_id=record.id, spans=spans)
        _times(span, record.closure.created_at, record.closure.updated_at)
        return span

    def _task_node(
        self, record: node_execution_pb2.NodeExecution, spans: list[metrics_pb2.Span], depth: int
    ) -> None:
        closure = record.closure
        tasks = self._tasks(record)
        if not tasks:
            spans.append(_operation(closure.created_at, closure.updated_at, NODE_SETUP))
            return
        spans.append(_operation(closure.created_at, tasks[0].closure.created_at, NODE_SETUP))
        _task_spans(tasks, spans, depth)
        last = tasks[-1]
        if not _before(closure.updated_at, last.closure.updated_at):
            spans.append(_operation(last.closure.updated_at, closure.updated_at, NODE_TEARDOWN))

    def _tasks(
        self, record: node_execution_pb2.NodeExecution
    ) -> list[task_execution_pb2.TaskExecution]:
        found: list[task_execution_pb2.TaskExecution] = []
        token = ""
        while True:
            page, token = self.node_executions.list_tasks(
                task_execution_pb2.TaskExecutionListRequest(
                    node_execution_id=record.id, limit=REQUEST_LIMIT, token=token
                )
            )
            found.extend(page)
            if len(page) < REQUEST_LIMIT:
                return found

    def _launch_plan_node(
        self, record: node_execution_pb2.NodeExecution, spans: list[metrics_pb2.Span], depth: int
    ) -> None:
        closure = record.closure
        if not closure.HasField("workflow_node_metadata"):
            spans.append(_operation(closure.created_at, closure.updated_at, NODE_SETUP))
            return
        child = self.executions.get(closure.workflow_node_metadata.executionId)
        spans.append(_operation(closure.created_at, child.closure.created_at, NODE_SETUP))
        spans.append(self._execution(child, depth))
        if not _before(closure.updated_at, child.closure.updated_at):
            spans.append(_operation(child.closure.updated_at, closure.updated_at, NODE_TEARDOWN))

    def _sub_workflow(
        self,
        record: node_execution_pb2.NodeExecution,
        workflow_id: identifier_pb2.Identifier,
        spans: list[metrics_pb2.Span],
        depth: int,
    ) -> None:
        closure = record.closure
        children = self._nodes(record.id.execution_id, record.id.node_id)
        if not children:
            spans.append(_operation(closure.created_at, closure.updated_at, NODE_SETUP))
            return
        start = children.get(START_NODE)
        spans.append(
            _operation(closure.created_at, start.closure.updated_at if start else None, NODE_SETUP)
        )
        # Admin reads the sub-workflow as a registered workflow of its own (GetWorkflow)
        compiled = self.entities.get_workflow(workflow_id).closure.compiled_workflow
        spans.extend(self._node_spans(children, compiled, depth))
        last = _latest_upstream(END_NODE, compiled, children)
        if last is not None and not _before(closure.updated_at, last.closure.updated_at):
            spans.append(_operation(last.closure.updated_at, closure.updated_at, NODE_TEARDOWN))

    def _branch(
        self,
        record: node_execution_pb2.NodeExecution,
        branch: core_wf_pb2.BranchNode,
        spans: list[metrics_pb2.Span],
        depth: int,
    ) -> None:
        closure = record.closure
        children = self._nodes(record.id.execution_id, record.id.node_id)
        if not children:
            spans.append(_operation(closure.created_at, closure.updated_at, NODE_SETUP))
            return
        if len(children) != 1:
            raise AdminError(
                grpc.StatusCode.INTERNAL,
                "invalid branch node execution: expected 1 but found "
                f"{len(children)} node execution(s)",
            )
        chosen = next(iter(children.values()))
        node = _branch_node(chosen.metadata.spec_node_id, branch)
        if node is None:
            raise AdminError(
                grpc.StatusCode.INTERNAL,
                "failed to identify branch node final node definition for nodeID "
                f"'{chosen.metadata.spec_node_id}'",
            )
        spans.append(_operation(closure.created_at, chosen.closure.created_at, NODE_SETUP))
        spans.append(self._node(chosen, node, depth))
        if not _before(closure.updated_at, chosen.closure.updated_at):
            spans.append(_operation(chosen.closure.updated_at, closure.updated_at, NODE_TEARDOWN))


def _gate(record: node_execution_pb2.NodeExecution, spans: list[metrics_pb2.Span]) -> None:
    """metrics_manager.go parseGateNodeExecution: setup, the wait (started + duration), teardown."""
    closure = record.closure
    if _unset(closure.started_at):
        spans.append(_operation(closure.created_at, closure.updated_at, NODE_SETUP))
        return
    spans.append(_operation(closure.created_at, closure.started_at, NODE_SETUP))
    if closure.duration.ToNanoseconds() == 0:
        spans.append(_operation(closure.started_at, closure.updated_at, NODE_IDLE))
        return
    end = _plus(closure.started_at, closure.duration.ToNanoseconds())
    spans.append(_operation(closure.started_at, end, NODE_IDLE))
    spans.append(_operation(end, closure.updated_at, NODE_TEARDOWN))


def _task_spans(
    tasks: list[task_execution_pb2.TaskExecution], spans: list[metrics_pb2.Span], depth: int
) -> None:
    """metrics_manager.go parseTaskExecutions: attempts in order of creation, NODE_RESET between
    them; the attempts' own spans only while depth allows."""
    ordered = sorted(tasks, key=lambda t: t.closure.created_at.ToNanoseconds())
    for index, task in enumerate(ordered):
        if index > 0:
            previous = ordered[index - 1].closure.updated_at
            spans.append(_operation(previous, task.closure.created_at, NODE_RESET))
        if depth != 0:
            spans.append(_task(task))


def _task(task: task_execution_pb2.TaskExecution) -> metrics_pb2.Span:
    closure = task.closure
    spans: list[metrics_pb2.Span] = []
    if _unset(closure.started_at):
        spans.append(_operation(closure.created_at, closure.updated_at, TASK_SETUP))
    else:
        spans.append(_operation(closure.created_at, closure.started_at, TASK_SETUP))
        if closure.duration.ToNanoseconds() == 0:
            spans.append(_operation(closure.started_at, closure.updated_at, TASK_RUNTIME))
        else:
            end = _plus(closure.started_at, closure.duration.ToNanoseconds())
            spans.append(_operation(closure.started_at, end, TASK_RUNTIME))
            if not _before(closure.updated_at, end):
                spans.append(_operation(end, closure.updated_at, TASK_TEARDOWN))
    span = metrics_pb2.Span(task_id=task.id, spans=spans)
    _times(span, closure.created_at, closure.updated_at)
    return span


def _latest_upstream(
    node_id: str,
    compiled: compiler_pb2.CompiledWorkflowClosure,
    nodes: Mapping[str, node_execution_pb2.NodeExecution],
) -> node_execution_pb2.NodeExecution | None:
    """metrics_manager.go getLatestUpstreamNodeExecution: the recorded upstream node updated
    last (the compiled connections, start-node included)."""
    latest: node_execution_pb2.NodeExecution | None = None
    upstream = compiled.primary.connections.upstream
    if node_id not in upstream:
        return None
    for upstream_id in upstream[node_id].ids:
        found = nodes.get(upstream_id)
        if found is None:
            continue
        updated = found.closure.updated_at.ToNanoseconds()
        if updated > (latest.closure.updated_at.ToNanoseconds() if latest else 0):
            latest = found
    return latest


def _branch_node(node_id: str, branch: core_wf_pb2.BranchNode) -> core_wf_pb2.Node | None:
    if_else = branch.if_else
    candidates = [if_else.case.then_node, *(other.then_node for other in if_else.other)]
    if if_else.HasField("else_node"):
        candidates.append(if_else.else_node)
    return next((n for n in candidates if n.id == node_id), None)


def _operation(
    start: timestamp_pb2.Timestamp | None, end: timestamp_pb2.Timestamp | None, operation: str
) -> metrics_pb2.Span:
    span = metrics_pb2.Span(operation_id=operation)
    _times(span, start, end)
    return span


def _times(
    span: metrics_pb2.Span,
    start: timestamp_pb2.Timestamp | None,
    end: timestamp_pb2.Timestamp | None,
) -> None:
    # a nil timestamp in Admin's Go code stays unset here
    if start is not None:
        span.start_time.CopyFrom(start)
    if end is not None:
        span.end_time.CopyFrom(end)


def _unset(value: timestamp_pb2.Timestamp) -> bool:
    return int(value.ToNanoseconds()) == 0


def _before(a: timestamp_pb2.Timestamp, b: timestamp_pb2.Timestamp) -> bool:
    return int(a.ToNanoseconds()) < int(b.ToNanoseconds())


def _plus(start: timestamp_pb2.Timestamp, nanoseconds: int) -> timestamp_pb2.Timestamp:
    end = timestamp_pb2.Timestamp()
    end.FromNanoseconds(start.ToNanoseconds() + nanoseconds)
    return end
