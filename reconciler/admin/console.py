"""Links to the Flyte console: runs for what apply launched and what ``status`` shows, and a
resource's page for the loop's state and the status page. One base URL convention for all."""

from __future__ import annotations

from typing import Any

from reconciler.manifests.address import Address


def _scope(console: str, project: str, domain: str) -> str:
    return f"{console.rstrip('/')}/console/projects/{project}/domains/{domain}"


def console_url(console: str | None, execution_id: Any) -> str | None:
    """As flytekit's ``generate_console_url``; None without a console endpoint."""
    if not console:
        return None
    scope = _scope(console, execution_id.project, execution_id.domain)
    return f"{scope}/executions/{execution_id.name}"


def resource_url(console: str | None, address: str) -> str | None:
    """The console page of the resource at a plan ``address``: a launch plan's page, a run's
    (a signal's address names its execution), or the project/domain's."""
    if not console:
        return None
    try:
        parsed = Address.parse(address)
    except ValueError:
        return None
    scope = _scope(console, parsed.project, parsed.domain)
    if parsed.kind == "LaunchPlan":
        return f"{scope}/launchPlans/{parsed.name}"
    if parsed.kind in ("Execution", "Backfill", "Signal"):
        return f"{scope}/executions/{parsed.name}"
    return scope
