"""Is a saved plan still true? Read again what each change was planned against and compare.

``plan --out`` stores, per change, the Admin keys it read and a digest of what it saw; ``apply
--plan`` reads the same keys and recomputes the digests with the same functions (the change's
kind, from its address, says which: ``Kind.recheck`` and ``Kind.digests``). Any difference
means Admin changed since the plan was made, and the whole plan is refused (as Terraform
refuses a stale plan): applying it could undo someone else's change.
"""

from __future__ import annotations

from typing import Any

from reconciler.admin.api import Admin
from reconciler.kinds import kind_named
from reconciler.kinds.base import Kind, union
from reconciler.manifests.address import Address
from reconciler.plan.model import Change, Plan
from reconciler.read import Needs, fetch_actual


def stale_addresses(plan: Plan, client: Admin, *, parallelism: int = 8) -> list[str]:
    writing = [c for c in plan.changes if c.action.writes]
    checks: list[tuple[Change, Kind[Any, Any], Needs]] = []
    stale = set()
    for change in writing:
        kind = kind_named(Address.kind_of(change.address))
        reads = kind.recheck(change.observed) if kind is not None else None
        if kind is None or reads is None:
            stale.add(change.address)  # nothing recorded: cannot be checked, so not trusted
        else:
            checks.append((change, kind, reads))
    actual = fetch_actual(client, union(reads for _, _, reads in checks), parallelism=parallelism)
    for change, kind, _ in checks:
        if change.observed.get("digest") not in kind.digests(actual, change.observed):
            stale.add(change.address)
    return [c.address for c in writing if c.address in stale]
