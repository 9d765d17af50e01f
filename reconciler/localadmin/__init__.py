"""The local FlyteAdmin: FlyteAdmin v1.16 semantics over real gRPC, on SQLite, with a simulated
engine. Used by ``reconciler local-admin serve``, ``--endpoint local`` and the integration tests.

Layout (a call goes from the top down)::

    server.py           LocalAdmin: makes the parts below, serves them (gRPC server, blob/token
                        HTTP server, engine ticker); ``advance`` moves a manual clock on
    service.py          servicers on flyteidl's base classes; AdminError -> gRPC status, auth check
    faults.py           injected failures and connection resets (``LocalAdmin(faults=...)``)

  the logic, one module per kind of record (Admin's rules and wording are listed in each):
    projects.py         projects and domains; the project check of every registration; labels
    entities.py         tasks and workflows (a workflow is compiled); listing by version and name
    launch_plans.py     launch plans (activation, schedules); the ones generated for a task
    attributes.py       matchable attributes (project, project-domain, workflow) and their merging
    named_entities.py   named entities: metadata (description, state) of a name's versions
    executions.py       executions (create/relaunch/recover/terminate/archive, data): the spec as
                        Admin stores it, and the resolved one the engine runs with
    node_executions.py  node and task executions: what the engine records, what the API reads
    signals.py          SignalService rules
    metrics.py          GetExecutionMetrics: spans from the engine's recorded timings

  the simulation (what is and is not simulated is listed in engine.py and nodes.py):
    engine.py           runs: when nodes start and are polled, how a run ends or is aborted
    nodes.py            each kind of node (task, gate, launch plan, sub-workflow, branch, map
                        task), recovery, the output override and failure injection
    branches.py         branch conditions, evaluated
    outputs.py          real files for the file and directory outputs of simulated nodes
    scheduler.py        launches active scheduled launch plans (``serve --scheduler``)
    clock.py            the injected time (a ManualClock in tests)

  underneath:
    dataproxy.py        signed-URL blob store and OAuth2 token endpoint on 127.0.0.1
    filters.py          Admin's filter grammar -> parameterized SQL; paging
    literals.py         literal types: does a value fit a type, zero values, JSON -> literal
    protos.py           small protobuf helpers
    errors.py           AdminError, the one exception of the logic
    store.py            SQLite: protobuf bytes + indexed columns, WAL, schema version

Each table has one module that writes it; others only read it, and the engine writes through
these owners::

    projects                           projects.py
    tasks, workflows                   entities.py
    launch_plans                       launch_plans.py
    resources                          attributes.py
    named_entity_metadata              named_entities.py
    executions, execution_tags         executions.py
    node_executions, task_executions   node_executions.py
    signals                            signals.py
    schema_version                     store.py
"""

from __future__ import annotations

from reconciler.localadmin.clock import ManualClock, SystemClock
from reconciler.localadmin.server import LocalAdmin
from reconciler.localadmin.service import AuthSettings
from reconciler.localadmin.store import StoreError

__all__ = ["AuthSettings", "LocalAdmin", "ManualClock", "StoreError", "SystemClock"]
