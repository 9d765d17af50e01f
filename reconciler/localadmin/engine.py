"""The simulated execution engine of the local Admin (what flytepropeller does in a cluster).

**User code never runs.** The engine walks the compiled workflow of each execution and moves
phases on an injected :class:`~reconciler.localadmin.clock.Clock`; ``tick()`` does every step
that is due at the clock's current time, repeatedly until nothing changes. ``serve`` calls it from
a background thread; tests advance a ``ManualClock`` and call it, so nothing sleeps.

What is simulated, and how:

* executions: ``QUEUED`` -> ``RUNNING`` after ``queue_seconds``, then ``SUCCEEDED`` when every
  node succeeded (outputs resolved from the workflow's output bindings), ``FAILED`` when a node
  failed (running nodes are aborted unless the workflow's failure policy is
  ``FAIL_AFTER_EXECUTABLE_NODES_COMPLETE``), ``ABORTING`` -> ``ABORTED`` after a terminate (child
  executions are terminated too);
* node executions are recorded for every node of the workflow when its upstream nodes (declared
  ones and those its bindings read) have succeeded, plus ``start-node`` (outputs: the workflow
  inputs) and ``end-node`` (inputs: the workflow outputs) as propeller reports them; inputs are
  resolved from bindings. What each kind of node does once started (tasks, gates, launch-plan
  and sub-workflow nodes, branches, map tasks, recovery) is :mod:`nodes`' part, with the two
  ways to steer a run: an output override and failure injection.

The engine reads labels and annotations from the execution's resolved spec
(``Executions.resolved_spec``), as propeller sees them on the workflow CRD: the request's, else
the launch plan's, else the matchable or server defaults', with the project's labels added.

The engine (with :mod:`nodes`) writes no table itself: executions go through
:class:`~reconciler.localadmin.executions.Executions`, node and task executions through
:class:`~reconciler.localadmin.node_executions.NodeExecutions`, signals through
:class:`~reconciler.localadmin.signals.Signals`.

Not simulated: retries, caching, timeouts of task nodes, dynamic workflows, attribute access on
promises, offloaded literals, events, logs, decks, resource quotas, cluster assignment, and the
``start-node``/``end-node`` node executions propeller reports.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import Any

from flyteidl.admin import execution_pb2, node_execution_pb2, workflow_pb2
from flyteidl.core import compiler_pb2, literals_pb2
from flyteidl.core import execution_pb2 as core_exec_pb2
from flyteidl.core import workflow_pb2 as core_wf_pb2

from reconciler.localadmin.clock import Clock
from reconciler.localadmin.entities import END_NODE, START_NODE, SYSTEM_NODES, upstream_of
from reconciler.localadmin.errors import AdminError
from reconciler.localadmin.executions import Caller, Executions, Phase
from reconciler.localadmin.node_executions import (
    NODE_DONE_OK,
    NODE_TERMINAL,
    NodeExecutions,
    NodePhase,
)
from reconciler.localadmin.nodes import (
    Nodes,
    Outcome,
    Run,
    Scope,
    SimulationError,
    execution_error,
)
from reconciler.localadmin.protos import duration, parse, timestamp
from reconciler.localadmin.signals import Signals
from reconciler.localadmin.store import Row, Store

log = logging.getLogger(__name__)

_FAIL_AFTER_EXECUTABLE = core_wf_pb2.WorkflowMetadata.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE
_MAX_ROUNDS = 100
_ACTIVE = [Phase.Name(p) for p in (Phase.UNDEFINED, Phase.QUEUED, Phase.RUNNING, Phase.ABORTING)]


class Engine:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        executions: Executions,
        node_executions: NodeExecutions,
        signals: Signals,
        *,
        data_dir: Path,
        task_seconds: float = 1.0,
        queue_seconds: float = 0.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.executions = executions
        self.node_executions = node_executions
        self.queue_seconds = queue_seconds
        self._next_due: float | None = None
        self.nodes = Nodes(
            store,
            executions,
            node_executions,
            signals,
            data_dir=data_dir,
            task_seconds=task_seconds,
            wake_at=self._wake_at,
            advance_scope=self._advance_scope,
        )
        # Set when the local Admin stops: a tick ends after the step it is in, before the store
        # closes under it (a tick over thousands of waiting runs outlasts any join timeout).
        self.stopping = threading.Event()

    # -- driving -----------------------------------------------------------------------------

    @property
    def next_due(self) -> float | None:
        """The earliest clock time at which the last ``tick`` saw something become due."""
        return self._next_due

    def _wake_at(self, when: float) -> None:
        if self._next_due is None or when < self._next_due:
            self._next_due = when

    def tick(self) -> bool:
        """Do every step due now, until nothing changes; True when something did."""
        progressed = False
        self._next_due = None
        for _ in range(_MAX_ROUNDS):
            self._next_due = None
            if self.stopping.is_set() or not self._round():
                break
            progressed = True
        return progressed

    def _round(self) -> bool:
        """Step every active run once, each in its own transaction: the store's lock is held
        for one run at a time, so API calls wait for a step, never for a whole round (a round
        over thousands of runs waiting at gates takes seconds)."""
        changed = False
        where = [f"phase IN ({', '.join('?' for _ in _ACTIVE)})"]
        keys = self.store.select("executions", where, _ACTIVE, columns="project, domain, name")
        for key in keys:
            if self.stopping.is_set():
                break
            with self.store.transaction():
                # read again: the API may have changed the run since (terminated it, say)
                row = self.store.get(
                    "executions",
                    {"project": key["project"], "domain": key["domain"], "name": key["name"]},
                )
                if row is not None and row["phase"] in _ACTIVE:
                    changed |= self._step(row)
        return changed

    def _step(self, row: Row) -> bool:
        execution = parse(execution_pb2.Execution, row["data"])
        now = self.clock.now()
        phase = execution.closure.phase
        if phase == Phase.ABORTING:
            self._abort(execution, row, now)
            return True
        if phase in (Phase.QUEUED, Phase.UNDEFINED):
            if now < row["created_at"] + self.queue_seconds:
                self._wake_at(row["created_at"] + self.queue_seconds)
                return False
            execution.closure.phase = Phase.RUNNING
            execution.closure.started_at.CopyFrom(timestamp(now))
            execution.closure.updated_at.CopyFrom(timestamp(now))
            self.executions.save(execution, started_at=now)
            return True
        workflow_id = execution.closure.workflow_id
        workflow_row = self.store.get(
            "workflows",
            {
                "project": workflow_id.project,
                "domain": workflow_id.domain,
                "name": workflow_id.name,
                "version": workflow_id.version,
            },
        )
        if workflow_row is None:  # cannot happen through the API: workflows are never deleted
            raise RuntimeError(f"workflow of execution {execution.id.name} is missing")
        workflow = parse(workflow_pb2.Workflow, workflow_row["data"])
        run = Run(
            row,
            execution,
            workflow.closure.compiled_workflow,
            settings=self.executions.resolved_from_row(row),
        )
        for node_row in self.node_executions.rows_of(execution.id):
            node = parse(node_execution_pb2.NodeExecution, node_row["data"])
            run.nodes[node.id.node_id] = node
            if node_row["outputs"] is not None:
                run.outputs[node.id.node_id] = parse(literals_pb2.LiteralMap, node_row["outputs"])
        try:
            self._advance(run, now)
        except SimulationError as exc:
            self._finish(
                run,
                now,
                Phase.FAILED,
                error=execution_error("SimulationError", str(exc), system=True),
            )
            return True
        return run.changed

    # -- workflow progress -------------------------------------------------------------------

    def _advance(self, run: Run, now: float) -> None:
        template = run.closure.primary.template
        top = Scope(template, parse(literals_pb2.LiteralMap, run.row["inputs"]))
        if START_NODE not in run.nodes:
            # propeller reports start-node first; its outputs are the workflow's inputs
            self.nodes.record(
                run,
                top,
                START_NODE,
                now,
                inputs=literals_pb2.LiteralMap(),
                phase=NodePhase.SUCCEEDED,
            )
            run.outputs[START_NODE] = top.inputs
            self.nodes.save_node(run, START_NODE, now, top.inputs)
        outcome = self._advance_scope(run, top, now)
        if outcome is None:
            return
        if outcome.error is not None:
            self._finish(run, now, Phase.FAILED, error=outcome.error)
            return
        outputs = outcome.outputs or literals_pb2.LiteralMap()
        # end-node holds the workflow's outputs as its inputs
        self.nodes.record(run, top, END_NODE, now, inputs=outputs, phase=NodePhase.SUCCEEDED)
        self._finish(run, now, Phase.SUCCEEDED, outputs=outputs)

    def _advance_scope(self, run: Run, scope: Scope, now: float) -> Outcome | None:
        """Step the nodes of one template; the outcome once they are all done, else None."""
        user_nodes = _user_nodes(scope.template)
        for node in user_nodes:
            current = run.nodes.get(scope.full(node.id))
            if current is None:
                if self._ready(run, scope, node):
                    self.nodes.start(run, scope, node, now)
            elif current.closure.phase not in NODE_TERMINAL:
                self.nodes.poll(run, scope, node, current, now)
        phases = {
            n.id: run.nodes[scope.full(n.id)].closure.phase
            for n in user_nodes
            if scope.full(n.id) in run.nodes
        }
        failed = [n for n, p in phases.items() if p in (NodePhase.FAILED, NodePhase.TIMED_OUT)]
        running = [n for n, p in phases.items() if p not in NODE_TERMINAL]
        if failed:
            keep_going = scope.template.metadata.on_failure == _FAIL_AFTER_EXECUTABLE
            pending = [n for n in user_nodes if n.id not in phases]
            if keep_going and (running or any(self._ready(run, scope, n) for n in pending)):
                return None
            for node_id in running:
                self.nodes.set_node(run, scope.full(node_id), NodePhase.ABORTED, now)
            return Outcome(error=run.nodes[scope.full(failed[0])].closure.error)
        if len(phases) == len(user_nodes) and not running:
            outputs = literals_pb2.LiteralMap()
            for binding in scope.template.outputs:
                outputs.literals[binding.var].CopyFrom(
                    self.nodes.resolve(run, scope, binding.binding)
                )
            return Outcome(outputs=outputs)
        return None

    def _ready(self, run: Run, scope: Scope, node: core_wf_pb2.Node) -> bool:
        for upstream in upstream_of(node):
            found = run.nodes.get(scope.full(upstream))
            if found is None or found.closure.phase not in NODE_DONE_OK:
                return False
        return True

    # -- the end of a run --------------------------------------------------------------------

    def _finish(
        self,
        run: Run,
        now: float,
        phase: core_exec_pb2.WorkflowExecution.Phase,
        outputs: literals_pb2.LiteralMap | None = None,
        error: core_exec_pb2.ExecutionError | None = None,
    ) -> None:
        closure = run.execution.closure
        closure.phase = phase
        closure.updated_at.CopyFrom(timestamp(now))
        started = (
            closure.started_at.ToNanoseconds() / 1e9 if closure.HasField("started_at") else now
        )
        closure.duration.CopyFrom(duration(now - started))
        columns: dict[str, Any] = {"duration": now - started}
        if error is not None:
            closure.error.CopyFrom(error)
            columns["error_code"] = error.code
            columns["error_kind"] = core_exec_pb2.ExecutionError.ErrorKind.Name(error.kind)
        if outputs is not None:
            columns["outputs"] = outputs.SerializeToString()
        self.executions.save(run.execution, **columns)
        run.changed = True

    def _abort(self, execution: execution_pb2.Execution, row: Row, now: float) -> None:
        for node_row in self.node_executions.rows_of(execution.id):
            node = parse(node_execution_pb2.NodeExecution, node_row["data"])
            if node.closure.phase in NODE_TERMINAL:
                continue
            run = Run(
                row, execution, compiler_pb2.CompiledWorkflowClosure(), {node.id.node_id: node}
            )
            self.nodes.set_node(run, node.id.node_id, NodePhase.ABORTED, now)
            child_id = node.closure.workflow_node_metadata.executionId
            if child_id.name:
                with contextlib.suppress(AdminError):  # the child may have finished already
                    self.executions.terminate(child_id, "parent execution aborted", _system())
        run = Run(row, execution, compiler_pb2.CompiledWorkflowClosure())
        self._finish(run, now, Phase.ABORTED)


def _user_nodes(template: core_wf_pb2.WorkflowTemplate) -> list[core_wf_pb2.Node]:
    return [n for n in template.nodes if n.id not in SYSTEM_NODES]


def _system() -> Caller:
    return Caller("localadmin-engine")


class Ticker:
    """Calls ``engine.tick()`` every ``interval`` seconds of real time until stopped."""

    def __init__(self, engine: Engine, interval: float = 0.2, extra: Any = None) -> None:
        self.engine = engine
        self.interval = interval
        self.extra = extra
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="localadmin-engine", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.engine.stopping.set()
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if self.extra is not None:
                    self.extra()
                self.engine.tick()
            except Exception:  # keep serving; a bug in one step must not stop the engine
                log.exception("engine tick failed")
