"""``apply --wait``: follow the executions an apply started until each is done."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flyteidl.admin import execution_pb2

from reconciler.admin.client import AdminClient, fetch_all
from reconciler.plan.executions import TERMINAL, Phase


@dataclass(frozen=True)
class RunState:
    name: str
    phase: str
    error: str = ""

    @property
    def done(self) -> bool:
        return Phase.Value(self.phase) in TERMINAL

    @property
    def succeeded(self) -> bool:
        return self.phase == "SUCCEEDED"


def wait_for(
    client: AdminClient,
    executions: Sequence[Any],
    *,
    timeout: float,
    poll: float = 1.0,
    on_update: Callable[[list[RunState]], None] = lambda states: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[RunState], bool]:
    """The last states seen, and whether every run finished before ``timeout`` seconds."""
    deadline = clock() + timeout
    states: list[RunState] = []
    while True:
        states = fetch_all(lambda ident: _state(client, ident), executions, parallelism=8)
        on_update(states)
        if all(s.done for s in states):
            return states, True
        if clock() >= deadline:
            return states, False
        sleep(min(poll, max(deadline - clock(), 0.0)))


def _state(client: AdminClient, execution_id: Any) -> RunState:
    found = client.call("GetExecution", execution_pb2.WorkflowExecutionGetRequest(id=execution_id))
    closure = found.closure
    return RunState(
        execution_id.name,
        Phase.Name(closure.phase),
        closure.error.message if closure.HasField("error") else "",
    )
