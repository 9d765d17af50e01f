"""Time for the local Admin: injected so that tests advance it instead of sleeping.

Everything in the local Admin that needs "now" (timestamps, the engine's progress, sleep gates,
the scheduler) asks a :class:`Clock`. ``serve`` uses :class:`SystemClock`; tests use
:class:`ManualClock` and move it forward explicitly, which keeps the suite fast and free of timed
assertions.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (UTC)."""


class SystemClock:
    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that only moves when told to; thread-safe."""

    def __init__(self, start: float | None = None) -> None:
        self._now = (
            start if start is not None else datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()
        )
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._now += seconds
