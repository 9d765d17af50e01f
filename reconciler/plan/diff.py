"""Field-level differences between two normalized resources, via deepdiff.

Both sides must be normalized first (server-filled fields stripped, defaults filled on both
sides; STYLE.md 4) so that a plan right after an apply is empty. Paths come out in manifest
terms: ``spec.labels.team``, ``spec.notifications[0].phases``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.diagnostics import format_path
from reconciler.plan.model import FieldDiff


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[FieldDiff, ...]:
    """What changes from ``before`` to ``after``, one entry per changed leaf or added/removed
    key, sorted by path."""
    # deepdiff takes a fifth of the command's start-up to import, and only changes need it
    from deepdiff import DeepDiff

    found = DeepDiff(
        dict(before),
        dict(after),
        view="tree",
        ignore_order=False,
        # always name the keys that differ, even when a mapping shares none of them
        threshold_to_diff_deeper=0,
    )
    out: dict[str, FieldDiff] = {}
    for level_items in found.values():
        for level in level_items:
            path = format_path(tuple(level.path(output_format="list")))
            out[path] = FieldDiff(path, _present(level.t1), _present(level.t2))
    return tuple(out[k] for k in sorted(out))


def _present(value: Any) -> Any:
    """deepdiff marks the missing side of an added or removed item with ``NotPresent``."""
    from deepdiff.helper import NotPresent

    return None if isinstance(value, NotPresent) else value
