"""The local FlyteAdmin: FlyteAdmin v1.16 semantics over real gRPC, on SQLite, with a simulated
engine. Used by ``reconciler local-admin serve``, ``--endpoint local`` and the integration tests.

Layout (data flows top to bottom)::

    server.py      LocalAdmin: gRPC server + blob/token HTTP server + engine ticker
    service.py     servicers on flyteidl's base classes; AdminError -> gRPC status, auth check
    registry.py    projects, tasks, workflows, launch plans (registration rules, activation)
    attributes.py  matchable attributes (project, project-domain, workflow) and their merging
    named_entities.py  named entities: metadata (description, state) of a name's versions
    executions.py  executions, node/task executions, data (create/relaunch/recover/terminate),
                   the stored spec as Admin stores it, the resolved one the engine runs with
    metrics.py     GetExecutionMetrics: spans from the engine's recorded timings
    signals.py     SignalService rules
    engine.py      simulated execution engine (what is and is not simulated is listed there)
    scheduler.py   launches active scheduled launch plans (``serve --scheduler``)
    outputs.py     real files for the file and directory outputs the engine simulates
    dataproxy.py   signed-URL blob store and OAuth2 token endpoint on 127.0.0.1
    filters.py     Admin's filter grammar -> parameterized SQL; paging
    store.py       SQLite: protobuf bytes + indexed columns, WAL, schema version
"""

from __future__ import annotations

from reconciler.localadmin.clock import ManualClock, SystemClock
from reconciler.localadmin.server import LocalAdmin
from reconciler.localadmin.service import AuthSettings
from reconciler.localadmin.store import StoreError

__all__ = ["AuthSettings", "LocalAdmin", "ManualClock", "StoreError", "SystemClock"]
