"""Node executions and task executions: the records the engine keeps of a run's nodes, and
what the API reads of them. This module is the one writer of the ``node_executions`` and
``task_executions`` tables; the engine (:mod:`nodes`) decides what to record and calls it.

Admin rules reproduced here (``flyteadmin/pkg/manager/impl/node_execution_manager.go``,
``task_execution_manager.go``): listing the node executions of an execution does not check
that the execution exists (an unknown one lists nothing), but an unknown ``unique_parent_id``
is ``NOT_FOUND``; without ``unique_parent_id`` only the top-level nodes are listed; data is
returned inline (no offloading to blob storage).
"""

from __future__ import annotations

from typing import Any

from flyteidl.admin import node_execution_pb2, task_execution_pb2
from flyteidl.core import execution_pb2 as core_exec_pb2
from flyteidl.core import identifier_pb2, literals_pb2

from reconciler.localadmin import filters
from reconciler.localadmin.errors import invalid, not_found
from reconciler.localadmin.protos import (
    data_response,
    duration,
    execution_text,
    missing,
    parse,
    timestamp,
)
from reconciler.localadmin.store import Row, Store

NodePhase = core_exec_pb2.NodeExecution.Phase
TaskPhase = core_exec_pb2.TaskExecution.Phase

NODE_DONE_OK = {NodePhase.SUCCEEDED, NodePhase.SKIPPED, NodePhase.RECOVERED}
NODE_TERMINAL = NODE_DONE_OK | {NodePhase.FAILED, NodePhase.ABORTED, NodePhase.TIMED_OUT}


def node_key(identifier: identifier_pb2.NodeExecutionIdentifier) -> dict[str, str]:
    execution = identifier.execution_id
    return {
        "project": execution.project,
        "domain": execution.domain,
        "execution_name": execution.name,
        "node_id": identifier.node_id,
    }


class NodeExecutions:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- read --------------------------------------------------------------------------------

    def list_nodes(
        self, request: node_execution_pb2.NodeExecutionListRequest
    ) -> tuple[list[node_execution_pb2.NodeExecution], str]:
        # node_execution_manager.go: no existence check of the execution (an unknown one lists
        # nothing), but an unknown unique_parent_id is NOT_FOUND
        execution = request.workflow_execution_id
        for field_name in ("project", "domain", "name"):
            if not getattr(execution, field_name):
                raise invalid(f"missing {field_name}")
        offset = filters.page(request.limit, request.token)
        if request.unique_parent_id:
            self.row(
                identifier_pb2.NodeExecutionIdentifier(
                    node_id=request.unique_parent_id, execution_id=execution
                )
            )
        where = filters.Where()
        where.add("project = ?", execution.project)
        where.add("domain = ?", execution.domain)
        where.add("execution_name = ?", execution.name)
        # the top level unless asked for the children of one parent node
        where.add("parent_node_id = ?", request.unique_parent_id)
        filters.parse_filters("node_execution", request.filters, where)
        rows, token = filters.select_page(
            self.store, "node_executions", "node_execution", where, request, offset
        )
        return [parse(node_execution_pb2.NodeExecution, r["data"]) for r in rows], token

    def row(self, identifier: identifier_pb2.NodeExecutionIdentifier) -> Row:
        """The node execution's row; NOT_FOUND when there is none."""
        row = self.store.get("node_executions", node_key(identifier))
        if row is None:
            raise not_found(
                missing(
                    "node execution",
                    f"{execution_text(identifier.execution_id)}/{identifier.node_id}",
                )
            )
        return row

    def get_node(
        self, identifier: identifier_pb2.NodeExecutionIdentifier
    ) -> node_execution_pb2.NodeExecution:
        return parse(node_execution_pb2.NodeExecution, self.row(identifier)["data"])

    def get_node_data(
        self, identifier: identifier_pb2.NodeExecutionIdentifier
    ) -> node_execution_pb2.NodeExecutionGetDataResponse:
        return data_response(node_execution_pb2.NodeExecutionGetDataResponse, self.row(identifier))

    def list_tasks(
        self, request: task_execution_pb2.TaskExecutionListRequest
    ) -> tuple[list[task_execution_pb2.TaskExecution], str]:
        if not request.node_execution_id.node_id:
            raise invalid("missing node_id")
        offset = filters.page(request.limit, request.token)
        where = filters.Where()
        for column, value in node_key(request.node_execution_id).items():
            where.add(f"{column} = ?", value)
        filters.parse_filters("task_execution", request.filters, where)
        rows, token = filters.select_page(
            self.store, "task_executions", "task_execution", where, request, offset
        )
        return [parse(task_execution_pb2.TaskExecution, r["data"]) for r in rows], token

    def _task_row(self, identifier: identifier_pb2.TaskExecutionIdentifier) -> Row:
        row = self.store.get(
            "task_executions",
            {**node_key(identifier.node_execution_id), "retry_attempt": identifier.retry_attempt},
        )
        if row is None:
            node = identifier.node_execution_id
            raise not_found(
                missing(
                    "task execution",
                    f"{execution_text(node.execution_id)}/{node.node_id}/"
                    f"{identifier.retry_attempt}",
                )
            )
        return row

    def get_task(
        self, identifier: identifier_pb2.TaskExecutionIdentifier
    ) -> task_execution_pb2.TaskExecution:
        return parse(task_execution_pb2.TaskExecution, self._task_row(identifier)["data"])

    def get_task_data(
        self, identifier: identifier_pb2.TaskExecutionIdentifier
    ) -> task_execution_pb2.TaskExecutionGetDataResponse:
        return data_response(
            task_execution_pb2.TaskExecutionGetDataResponse, self._task_row(identifier)
        )

    def rows_of(self, execution: identifier_pb2.WorkflowExecutionIdentifier) -> list[Row]:
        """Every node execution of an execution, the children of sub-workflow nodes included."""
        return self.store.select(
            "node_executions",
            ["project = ?", "domain = ?", "execution_name = ?"],
            [execution.project, execution.domain, execution.name],
        )

    def find(self, identifier: identifier_pb2.NodeExecutionIdentifier) -> Row | None:
        return self.store.get("node_executions", node_key(identifier))

    # -- write (the engine) ------------------------------------------------------------------

    def insert_node(
        self,
        record: node_execution_pb2.NodeExecution,
        *,
        parent: str,
        inputs: literals_pb2.LiteralMap,
        now: float,
    ) -> None:
        """A node execution that starts now; ``parent`` is the id of the sub-workflow node it
        runs under ("" at the top level)."""
        self.store.insert(
            "node_executions",
            {
                **node_key(record.id),
                "parent_node_id": parent,
                "phase": NodePhase.Name(record.closure.phase),
                "created_at": now,
                "updated_at": now,
                "started_at": now,
                "duration": 0.0,
                "data": record.SerializeToString(),
                "inputs": inputs.SerializeToString(),
                "outputs": None,
            },
        )

    def save_node(
        self,
        record: node_execution_pb2.NodeExecution,
        now: float,
        outputs: literals_pb2.LiteralMap | None = None,
    ) -> None:
        """Store the record as it is now (its duration set once its phase is terminal)."""
        started = record.closure.started_at.ToNanoseconds() / 1e9
        record.closure.updated_at.CopyFrom(timestamp(now))
        if record.closure.phase in NODE_TERMINAL:
            record.closure.duration.CopyFrom(duration(now - started))
        values: dict[str, Any] = {
            "phase": NodePhase.Name(record.closure.phase),
            "updated_at": now,
            "duration": now - started,
            "data": record.SerializeToString(),
        }
        if outputs is not None:
            values["outputs"] = outputs.SerializeToString()
        self.store.update("node_executions", node_key(record.id), values)

    def insert_task(
        self,
        record: task_execution_pb2.TaskExecution,
        *,
        inputs: literals_pb2.LiteralMap,
        now: float,
    ) -> None:
        """The task execution (attempt ``record.id.retry_attempt``) of a task node."""
        task_id = record.id.task_id
        self.store.insert(
            "task_executions",
            {
                **node_key(record.id.node_execution_id),
                "retry_attempt": record.id.retry_attempt,
                "task_project": task_id.project,
                "task_domain": task_id.domain,
                "task_name": task_id.name,
                "task_version": task_id.version,
                "phase": TaskPhase.Name(record.closure.phase),
                "created_at": now,
                "updated_at": now,
                "started_at": now,
                "duration": 0.0,
                "data": record.SerializeToString(),
                "inputs": inputs.SerializeToString(),
                "outputs": None,
            },
        )

    def finish_task(
        self,
        node: identifier_pb2.NodeExecutionIdentifier,
        phase: core_exec_pb2.TaskExecution.Phase,
        now: float,
        *,
        outputs: literals_pb2.LiteralMap | None,
        error: core_exec_pb2.ExecutionError | None,
    ) -> None:
        """End the node's task execution (attempt 0) in ``phase``; a node without one (not a
        task node) is left alone."""
        key = {**node_key(node), "retry_attempt": 0}
        task_row = self.store.get("task_executions", key)
        if task_row is None:
            return
        task = parse(task_execution_pb2.TaskExecution, task_row["data"])
        task.closure.phase = phase
        started = task.closure.started_at.ToNanoseconds() / 1e9
        task.closure.duration.CopyFrom(duration(now - started))
        task.closure.updated_at.CopyFrom(timestamp(now))
        if error is not None:
            task.closure.error.CopyFrom(error)
        self.store.update(
            "task_executions",
            key,
            {
                "phase": TaskPhase.Name(phase),
                "updated_at": now,
                "duration": now - started,
                "data": task.SerializeToString(),
                "outputs": outputs.SerializeToString() if outputs is not None else None,
            },
        )
