"""The resource kinds: one module each, and one line each in ``KINDS``.

``KINDS`` is also the order in which a plan is made and applied: projects first (everything
else lives in one), then attributes (before the runs they apply to), registrations (what they
register is what launch plans and executions refer to), then launch plans (created, then
activated), executions, backfills and signals. ``base.py`` says what a kind provides;
``versions.py`` is the one rule for which version a manifest runs.

To add a kind: its pydantic model in ``manifests/<kind>.py``, a module here ending in
``KIND = Kind(...)``, and its line in ``KINDS``.
"""

from __future__ import annotations

from typing import Any

from reconciler.kinds import (
    attributes,
    backfill,
    execution,
    launchplan,
    project,
    registration,
    signal,
)
from reconciler.kinds.base import Kind

KINDS: tuple[Kind[Any, Any], ...] = (
    project.KIND,
    attributes.KIND,
    registration.KIND,
    launchplan.KIND,
    execution.KIND,
    backfill.KIND,
    signal.KIND,
)


def kind_named(name: str) -> Kind[Any, Any] | None:
    """The kind whose manifests say ``kind: name`` (the first part of their addresses)."""
    return next((kind for kind in KINDS if kind.name == name), None)
