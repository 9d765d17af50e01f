"""Two ``reconciler apply`` processes (and, once it exists, ``reconciler reconcile --once
--self-heal``) on the same tree at once, against one Admin.

Each must end with exit 0 (what git asks for holds, whoever made it), the plan after them is
empty, Admin holds exactly what one apply alone leaves (no duplicate run, no extra backfill run
or recovery attempt, one active version per launch plan), and no process claims to have made
what another made: a change one process created is reported "created" by that one only; the
other says it found it done ("nothing to do: Admin already holds it as planned, made by another
client"). Every call is delayed a little so that the processes' plans and writes overlap.
"""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from reconciler.localadmin.faults import Fault, Faults
from tests.reliability import support
from tests.reliability.conftest import Base, Reference

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(0 if support.FULL else 300)]

ROUNDS = 5 if support.FULL else 1
_RESULT = re.compile(r"^ok (?P<address>\S+): (?P<message>.*)$")
# what a process says when it made the whole change itself
_MADE = {"created", "recovery launched", "relaunch launched"}
_CLAIMED_ONCE = ("Registration/", "LaunchPlan/", "Execution/", "Backfill/")


def _reconcile_exists() -> bool:
    done = subprocess.run(
        support.command("reconcile", "--help"),
        capture_output=True,
        env=support.environment(),
        timeout=60,
        check=False,
    )
    return done.returncode == 0


def _claims(out: str) -> dict[str, str]:
    found = {}
    for line in out.splitlines():
        match = _RESULT.match(line)
        if match:
            found[match["address"]] = match["message"]
    return found


@pytest.mark.parametrize("with_reconcile", [False, True], ids=["two-applies", "and-reconcile"])
def test_concurrent_applies_converge_and_tell_the_truth(
    base: Base, reference: Reference, tmp_path: Path, with_reconcile: bool
) -> None:
    if with_reconcile and not _reconcile_exists():
        pytest.skip(
            "`reconciler reconcile` is not on this branch yet; this case runs it next to the "
            "two applies once it exists"
        )
    root = reference.root
    commands: list[tuple[str | Path, ...]] = [
        ("apply", root, "--auto-approve"),
        ("apply", root, "--auto-approve"),
    ]
    if with_reconcile:
        state_file = tmp_path / "reconcile-state.json"
        commands.append(("reconcile", root, "--once", "--self-heal", "--state-file", state_file))
    delays = Faults(rate=1.0, kinds=(Fault.DELAY,), delay=0.02)
    for round_ in range(ROUNDS):
        with support.serve(base.live, base.saved, faults=delays) as admin:
            logs = [tmp_path / f"round{round_}-{i}.log" for i in range(len(commands))]
            processes = [
                support.spawn(*args, endpoint=admin.endpoint, out=log)
                for args, log in zip(commands, logs, strict=True)
            ]
            results = [support.finish(p, log) for p, log in zip(processes, logs, strict=True)]
            assert admin.fault_injector is not None
            admin.fault_injector.enabled = False
            plan = support.run("plan", root, "--detailed-exitcode", endpoint=admin.endpoint)
            state = support.read_state(admin.endpoint)
        for args, result in zip(commands, results, strict=True):
            assert result.code == 0, f"{args[0]}: {result.text}"
        assert plan.code == 0, plan.text
        assert state.problems() == []
        assert support.state_difference(state, reference.state) == []
        claimed: dict[str, list[int]] = defaultdict(list)
        for index, result in enumerate(results):
            for address, message in _claims(result.out).items():
                if message in _MADE and address.startswith(_CLAIMED_ONCE):
                    claimed[address].append(index)
        twice = {address: who for address, who in claimed.items() if len(who) > 1}
        assert twice == {}, "\n\n".join(r.text for r in results)
