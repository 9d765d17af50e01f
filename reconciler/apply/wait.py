"""``apply --wait``: follow the executions an apply started until each is done."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reconciler.admin.api import Admin, ExecutionId
from reconciler.admin.client import fetch_all
from reconciler.kinds.execution import TERMINAL, Phase


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


@dataclass(frozen=True)
class Waited:
    """What following the runs came to: the last state seen of each, and whether every one
    finished before the timeout."""

    states: tuple[RunState, ...]
    finished: bool

    @property
    def failed(self) -> tuple[RunState, ...]:
        """Runs that finished in another phase than SUCCEEDED."""
        return tuple(s for s in self.states if s.done and not s.succeeded)

    @property
    def pending(self) -> tuple[RunState, ...]:
        """Runs still going when the wait gave up."""
        return tuple(s for s in self.states if not s.done)

    @property
    def succeeded(self) -> bool:
        return self.finished and not self.failed


def wait_for(
    client: Admin,
    executions: Sequence[ExecutionId],
    *,
    timeout: float,
    poll: float = 1.0,
    on_update: Callable[[list[RunState]], None] = lambda states: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Waited:
    """Poll the runs until every one is done or ``timeout`` seconds have passed;
    ``on_update`` sees every poll's states (the command shows them as they change)."""
    deadline = clock() + timeout
    states: list[RunState] = []
    while True:
        states = fetch_all(lambda ident: _state(client, ident), executions, parallelism=8)
        on_update(states)
        if all(s.done for s in states):
            return Waited(tuple(states), True)
        if clock() >= deadline:
            return Waited(tuple(states), False)
        sleep(min(poll, max(deadline - clock(), 0.0)))


def _state(client: Admin, execution_id: ExecutionId) -> RunState:
    found = client.get_execution(execution_id)
    closure = found.closure
    return RunState(
        execution_id.name,
        Phase.Name(closure.phase),
        closure.error.message if closure.HasField("error") else "",
    )
