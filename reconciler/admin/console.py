"""Links to runs in the Flyte console, for what apply launched and what ``status`` shows."""

from __future__ import annotations

from typing import Any


def console_url(console: str | None, execution_id: Any) -> str | None:
    """As flytekit's ``generate_console_url``; None without a console endpoint."""
    if not console:
        return None
    return (
        f"{console.rstrip('/')}/console/projects/{execution_id.project}/domains/"
        f"{execution_id.domain}/executions/{execution_id.name}"
    )
