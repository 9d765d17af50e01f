"""``make_plan(desired, actual)``: pair each desired resource with what Admin has, and decide.

Pure: no I/O. ``needs`` says what ``fetch_actual`` must read for a given desired state, and
``followups`` what can only be read once that is in, so the command reads twice at most, then
plans. All three are loops over ``KINDS`` (``reconciler.kinds``), in its order.
"""

from __future__ import annotations

import dataclasses

from reconciler.diagnostics import Diagnostic
from reconciler.kinds import KINDS
from reconciler.kinds.base import Desired, Planning, union
from reconciler.manifests.resolve import Resolved
from reconciler.plan.common import Context
from reconciler.plan.model import Change, Plan
from reconciler.read import Actual, Needs

__all__ = ["Desired", "followups", "make_plan", "needs"]


def needs(desired: Desired, context: Context) -> Needs:
    wanted = union(
        kind.needs(item, desired, context) for kind in KINDS for item in kind.of(desired.resolved)
    )
    # --prune: this tree's owner marker may be in scopes no manifest names any more
    return dataclasses.replace(wanted, prune_everywhere=context.prune, shard=context.shard)


def followups(desired: Desired, actual: Actual) -> Needs:
    """What can only be read once the first read is in (what is read already is left out)."""
    more = union(
        kind.followups(item, desired, actual)
        for kind in KINDS
        for item in kind.of(desired.resolved)
    )
    return Needs(
        workflows=frozenset(w for w in more.workflows if w not in actual.workflows),
        execution_inputs=frozenset(
            k for k in more.execution_inputs if k not in actual.execution_inputs
        ),
    )


def make_plan(desired: Desired, actual: Actual, context: Context) -> tuple[Plan, list[Diagnostic]]:
    """Each kind in ``KINDS`` order pairs its manifests with Admin's state and plans each
    pair, then what Admin has that no manifest declares (``--prune``); later kinds see what
    earlier ones add to the ``Planning`` (registered entities, declared launch plans)."""
    planning = Planning(desired, actual, context)
    changes: list[Change] = []
    for kind in KINDS:
        for item in sorted(kind.of(desired.resolved), key=_address):
            change = kind.plan(kind.pair(item, planning), planning)
            if change is not None:
                changes.append(change)
        for orphan in kind.orphans(planning):
            change = kind.plan(orphan, planning)
            if change is not None:
                changes.append(change)
    return Plan.of(changes), planning.problems.items


def _address(item: Resolved) -> str:
    return item.manifest.address
