"""Carry out a plan: the operations each change holds, in a safe order, with bounded
parallelism, each one idempotent. Apply reads nothing but the plan (STYLE.md 2).

Order: that of ``KINDS`` (``reconciler.kinds``): registrations, launch plans (created, then
activated), executions, backfills, signals; within a step, changes run concurrently
(``--parallelism``), and a change's operations run in sequence. Conflicts are refused and
reported; everything else that can be applied is.

Idempotence (DESIGN.md, Guarantees): a create that meets ALREADY_EXISTS succeeds only when what
Admin stores is what we asked for (each call's rule is in the registry of calls,
``reconciler.plan.calls``), so a run killed midway and started again, or two applies at once,
converge without duplicates.

Truthful results: each change says whether this apply made it or found it already made (by
another client, or by an earlier attempt of this apply whose answer was lost), as :class:`Done`
records per call; both are success.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from flyteidl.core import types_pb2

from reconciler.admin.api import Admin, ExecutionId
from reconciler.admin.client import fetch_all
from reconciler.admin.console import console_url
from reconciler.admin.literals import to_literal
from reconciler.errors import AlreadyExists, ConfigError, ReconcilerError
from reconciler.kinds import KINDS
from reconciler.manifests.address import Address
from reconciler.manifests.envref import substitute
from reconciler.plan.calls import Effect, call_of, registers_task
from reconciler.plan.model import Action, Change, Operation, Plan
from reconciler.plan.secrets import TEXT, reveal_text


@dataclass(frozen=True)
class Done:
    """What one operation did."""

    effect: Effect | None
    """None: a step that is neither (an upload, content-addressed)."""
    made: tuple[str, str]
    """How a change of several calls words this one: (verb, noun)."""
    execution: ExecutionId | None = None
    retried: bool = False
    """Found on a retry: perhaps our own earlier attempt, whose answer was lost, made it."""


@dataclass(frozen=True)
class Result:
    change: Change
    ok: bool
    message: str
    url: str | None = None
    launched: tuple[ExecutionId, ...] = ()  # ids of the executions this change started (or found)
    started: bool = True  # False: skipped because apply was asked to stop before it began
    found: bool = False  # some of the change was found already done (see Done.retried)


def apply_plan(
    plan: Plan,
    client: Admin,
    *,
    parallelism: int = 10,
    console: str | None = None,
    on_result: Callable[[Result], None] = lambda result: None,
    stop: threading.Event | None = None,
) -> list[Result]:
    """``stop``: once set, no new operation starts (those in flight finish); the changes not
    begun come back with ``started=False``. Every operation is idempotent, so a change stopped
    midway is finished by the next apply."""
    results: list[Result] = []
    for change in plan.conflicts:
        result = Result(change, False, f"refused: {change.reason}")
        on_result(result)
        results.append(result)
    for kind in KINDS:  # the table's order is the apply order
        batch = [
            c for c in plan.changes if c.action.writes and Address.kind_of(c.address) == kind.name
        ]
        if not batch:
            continue

        def run(change: Change) -> Result:
            if stop is not None and stop.is_set():
                result = Result(change, False, "not started: stopping", started=False)
            else:
                result = _apply_change(change, client, console, parallelism, stop)
            on_result(result)
            return result

        with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(batch)))) as pool:
            results.extend(pool.map(run, batch))
    return results


def _apply_change(
    change: Change,
    client: Admin,
    console: str | None,
    parallelism: int = 1,
    stop: threading.Event | None = None,
) -> Result:
    url = None
    launched: list[ExecutionId] = []
    dones: list[Done] = []
    try:
        for batch in _batches(change.operations):
            if stop is not None and stop.is_set():
                return Result(
                    change, False, "stopped midway: apply again to finish", launched=tuple(launched)
                )
            outcomes = fetch_all(lambda op: _execute(op, client), batch, parallelism=parallelism)
            for outcome in outcomes:
                dones.append(outcome)
                if outcome.execution is not None:
                    url = console_url(console, outcome.execution)
                    launched.append(outcome.execution)
    except ReconcilerError as exc:
        return Result(change, False, str(exc), launched=tuple(launched))
    found = [d for d in dones if d.effect is Effect.FOUND]
    return Result(
        change, True, _message(change.action, dones), url, tuple(launched), found=bool(found)
    )


def _batches(operations: Sequence[Operation]) -> list[list[Operation]]:
    """Operations in order, with runs of task registrations together: tasks do not depend on
    each other, so they go in parallel; workflows and launch plans wait for them."""
    batches: list[list[Operation]] = []
    for operation in operations:
        if batches and registers_task(operation) and registers_task(batches[-1][-1]):
            batches[-1].append(operation)
        else:
            batches.append([operation])
    return batches


def _counted(counts: dict[tuple[str, str], int]) -> list[tuple[str, str]]:
    """(verb, "N nouns") for each kind of call counted."""
    return [(verb, f"{n} {noun}{'s' if n > 1 else ''}") for (verb, noun), n in counts.items()]


def _message(action: Action, dones: Sequence[Done]) -> str:
    """What the change did, saying so when (part of) it was already done by someone else."""
    counted = [d for d in dones if d.effect is not None]
    found = [d for d in counted if d.effect is Effect.FOUND]
    if not found:
        return _done(action)
    if action is Action.TERMINATE:
        return "the run had already finished; nothing to terminate"
    who = (
        "by another client, or by an earlier attempt of this apply whose answer was lost"
        if any(d.retried for d in found)
        else "by another client"
    )
    if len(found) == len(counted):
        what = {
            Action.CREATE: "Admin already holds it as planned",
            Action.RECOVER: "the recovery was already launched",
            Action.RELAUNCH: "the relaunch was already launched",
            Action.SET: "the signal was already set to this value",
        }.get(action, "it was already done")
        return f"nothing to do: {what}, made {who}"
    made: dict[tuple[str, str], int] = {}
    there: dict[tuple[str, str], int] = {}
    for done in counted:
        into = there if done.effect is Effect.FOUND else made
        into[done.made] = into.get(done.made, 0) + 1
    did = ", ".join(f"{verb} {phrase}" for verb, phrase in _counted(made))
    already = " and ".join(phrase for _, phrase in _counted(there))
    verb = "was" if sum(there.values()) == 1 else "were"
    return f"{did}; {already} {verb} already there, made {who}"


def _done(action: Action) -> str:
    return {
        Action.CREATE: "created",
        Action.UPDATE: "updated",
        Action.DEACTIVATE: "deactivated",
        Action.DELETE: "deleted",
        Action.TERMINATE: "terminated",
        Action.RECOVER: "recovery launched",
        Action.RELAUNCH: "relaunch launched",
        Action.SET: "set",
    }.get(action, action.value)


def decode(operation: Operation, environ: Mapping[str, str] | None = None) -> Any:
    """The request to send, with secret inputs resolved from ``environ`` (default: ours)."""
    request = call_of(operation).decode(operation.request)
    for secret in operation.secrets:
        missing: list[str] = []
        value = substitute(
            secret.template, dict(os.environ if environ is None else environ), missing
        )
        if missing:
            what = secret.template if secret.field == TEXT else f"input {secret.name}"
            raise ConfigError(f"environment variable {missing[0]} is not set ({what})")
        if secret.field == TEXT:
            reveal_text(request, secret, value)
            continue
        literal_type = types_pb2.LiteralType()
        literal_type.ParseFromString(secret.literal_type)
        literal = to_literal(value, literal_type, path=secret.name, redact=True)
        if secret.field == "value":
            request.value.CopyFrom(literal)
        elif secret.field == "inputs":
            request.inputs.literals[secret.name].CopyFrom(literal)
        elif secret.field == "fixedInputs":
            request.spec.fixed_inputs.literals[secret.name].CopyFrom(literal)
        else:
            request.spec.default_inputs.parameters[secret.name].default.CopyFrom(literal)
    return request


def _execute(operation: Operation, admin: Admin) -> Done:
    """Run one operation: what it did, and the id of an execution it started, if any."""
    call = call_of(operation)
    request = decode(operation)
    launched = call.launches(request) if call.launches is not None else None
    try:
        effect = call.send(admin, request, operation.payload)
    except AlreadyExists as exc:
        if call.found_when_exists is None or not call.found_when_exists(admin, request):
            raise
        return Done(Effect.FOUND, call.made(request), launched, retried=exc.attempts > 1)
    return Done(effect, call.made(request), launched)


def failures(results: Sequence[Result]) -> list[Result]:
    return [r for r in results if not r.ok]
