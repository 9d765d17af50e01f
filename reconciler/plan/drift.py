"""Which changes of a plan are drift: a resource that exists in Admin in another state than git
says (a launch plan version deactivated or activated behind git's back, a launched spec that
differs). Resources not yet created are pending work for ``apply``, not drift.

``reconciler drift`` reports them; the reconcile loop counts and announces them.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.plan.model import Action, Change

DRIFT_ACTIONS = frozenset({Action.UPDATE, Action.DEACTIVATE, Action.DELETE, Action.CONFLICT})


def drifted(changes: Iterable[Change]) -> list[Change]:
    return [c for c in changes if c.action in DRIFT_ACTIONS and c.before is not None]
