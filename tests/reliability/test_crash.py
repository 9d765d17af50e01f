"""An apply killed (SIGKILL) right after any one of its calls, and run again, converges: the
plan is then empty and Admin holds exactly what an apply that was never killed leaves, with no
duplicate run, no extra backfill run, no extra recovery attempt and one active version per
launch plan.

The apply is a ``reconciler apply`` process against the local Admin served in this process; the
server kills it after the handler of call number k has run (the write is committed, the answer
never arrives; calls in flight next to it may land too). The apply that follows, and the plan,
run in this process (they are not what is tested, and that halves the time per point). CI kills
it at 10 points spread over the run; ``make reliability`` at every call
(``RELIABILITY_CRASH_POINTS``). Each problem is printed as it is found (``-s``) and all are
listed at the end.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.localadmin.faults import KillClient
from tests.reliability import support
from tests.reliability.conftest import Base, Reference

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(0 if support.FULL else 600)]

Cli = Callable[..., Any]


def _apply_killed_at(
    base: Base, reference: Reference, k: int, log: Path, run_cli: Cli
) -> tuple[str, list[str]]:
    """Kill apply after call ``k``, apply again; the call it was killed after, and what is
    wrong (nothing: ``[]``)."""
    killer = KillClient(k)
    root = reference.root
    with support.serve(base.live, base.saved, interceptors=[killer]) as admin:
        process = support.spawn("apply", root, "--auto-approve", endpoint=admin.endpoint, out=log)
        killer.target(process.pid)
        first = support.finish(process, log)
        killer.after = 0  # nothing else is killed
        method = killer.killed_at or "?"
        if first.code != -signal.SIGKILL:
            return method, [f"k={k}: apply was not killed ({killer.calls} calls)\n{first.text}"]
        endpoint = ("--endpoint", admin.endpoint, "--insecure")
        again = run_cli("apply", root, "--auto-approve", *endpoint)
        if again.code != 0:
            return method, [f"k={k} ({method}): apply again failed\n{again.out}{again.err}"]
        plan = run_cli("plan", root, "--detailed-exitcode", *endpoint)
        if plan.code != 0:
            return method, [f"k={k} ({method}): plan is not empty\n{plan.out}{plan.err}"]
        state = support.read_state(admin.endpoint)
    wrong = state.problems() + support.state_difference(state, reference.state)
    return method, [f"k={k} ({method}): {line}" for line in wrong]


def test_apply_killed_after_any_call_converges_when_run_again(
    base: Base,
    reference: Reference,
    tmp_path: Path,
    run_cli: Cli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    points = support.crash_points(reference.calls)
    problems: list[str] = []
    killed_after: Counter[str] = Counter()
    for k in points:
        method, found = _apply_killed_at(base, reference, k, tmp_path / f"apply-{k}.log", run_cli)
        killed_after[method] += 1
        if found or support.FULL:
            with capsys.disabled():
                print(
                    f"killed after call {k} of {reference.calls} ({method}): {len(found)} "
                    "problem(s)",
                    *found,
                    sep="\n",
                )
        problems.extend(found)
    with capsys.disabled():
        by_method = ", ".join(f"{m} {n}" for m, n in sorted(killed_after.items()))
        print(
            f"crash points: {len(points)} of {reference.calls} calls ({by_method}); "
            f"problems: {len(problems)}"
        )
    assert problems == [], "\n".join(problems)
