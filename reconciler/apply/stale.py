"""Is a saved plan still true? Read again what each change was planned against and compare.

``plan --out`` stores, per change, the Admin keys it read and a digest of what it saw; ``apply
--plan`` reads the same keys and recomputes the digests with the same functions. Any difference
means Admin changed since the plan was made, and the whole plan is refused (as Terraform
refuses a stale plan): applying it could undo someone else's change.
"""

from __future__ import annotations

from reconciler.admin.api import Admin
from reconciler.plan import executions, launchplans, registration, signals
from reconciler.plan.model import Plan
from reconciler.read import Needs, fetch_actual


def stale_addresses(plan: Plan, client: Admin, *, parallelism: int = 8) -> list[str]:
    writing = [c for c in plan.changes if c.action.writes]
    lp_keys = {tuple(k) for c in writing for k in c.observed.get("launch_plans", [])}
    ex_keys = {tuple(k) for c in writing for k in c.observed.get("executions", [])}
    sig_keys = {tuple(k[:3]) for c in writing for k in c.observed.get("signals", [])}
    reg_keys = {tuple(k) for c in writing for k in c.observed.get("registered", [])}
    actual = fetch_actual(
        client,
        Needs(
            launch_plans=frozenset(lp_keys),
            executions=frozenset(ex_keys),
            signals=frozenset(sig_keys),
            registered=frozenset(reg_keys),
        ),
        parallelism=parallelism,
    )
    stale = []
    for change in writing:
        observed = change.observed
        if "launch_plans" in observed:
            [key] = [tuple(k) for k in observed["launch_plans"]]
            now = launchplans.observed(actual, key)
            if now.get("digest") != observed.get("digest"):
                now = launchplans.observed(actual, key, legacy=True)  # saved by an earlier build
        elif "registered" in observed:
            keys = [tuple(k) for k in observed["registered"]]
            now = registration.observed(actual, keys)
        elif "signals" in observed:
            [(project, domain, name, signal_id)] = observed["signals"]
            now = signals.observed(actual, (project, domain, name), signal_id)
        elif "executions" in observed:
            keys = [tuple(k) for k in observed["executions"]]
            now = executions.observed(actual, keys)
        else:
            stale.append(change.address)  # nothing recorded: cannot be checked, so not trusted
            continue
        if now.get("digest") != observed.get("digest"):
            stale.append(change.address)
    return stale
