"""Sync windows (``syncWindows`` in reconciler.yaml), as Argo CD has them: may the loop apply
now?

A window is active from each tick of its cron schedule (UTC) for its duration. Inside an active
``deny`` window the loop does not apply; when there are ``allow`` windows, it applies only
inside one of them. Deny wins over allow. Planning and reporting never stop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from croniter import croniter

from reconciler.config import SyncWindow, duration_seconds


@dataclass(frozen=True)
class Verdict:
    open: bool
    reason: str  # why not, when closed; "" when open


def active(window: SyncWindow, now: datetime) -> bool:
    """Whether ``window`` is open at ``now`` (an aware datetime)."""
    # get_prev() returns the tick strictly before its start: start a second later so that a
    # tick falling exactly on ``now`` counts.
    start = now.astimezone(timezone.utc).replace(microsecond=0) + timedelta(seconds=1)
    tick = croniter(window.schedule, start).get_prev(datetime)
    return now < tick + timedelta(seconds=duration_seconds(window.duration))


def verdict(windows: Sequence[SyncWindow], now: datetime) -> Verdict:
    for window in windows:
        if window.kind == "deny" and active(window, now):
            return Verdict(False, f"inside deny window {_name(window)}")
    allows = [w for w in windows if w.kind == "allow"]
    if allows and not any(active(w, now) for w in allows):
        return Verdict(False, "outside every allow window")
    return Verdict(True, "")


def _name(window: SyncWindow) -> str:
    return f"'{window.schedule}' for {window.duration}"
