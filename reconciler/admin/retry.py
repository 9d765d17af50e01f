"""Retry policy for transient Admin failures: exponential backoff with full jitter, bounded in
attempts and in total time (DESIGN.md, Guarantees)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    initial_backoff: float = 0.2
    max_backoff: float = 3.0
    multiplier: float = 2.0
    total_time: float = 10.0
    """No retry starts once this many seconds have passed since the first attempt."""

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        """The pause before each retry (``attempts - 1`` of them), each uniform in [0, cap]
        where the cap grows exponentially ("full jitter", so that many clients that failed
        together do not retry together)."""
        pick = (rng or random).uniform
        cap = self.initial_backoff
        for _ in range(self.attempts - 1):
            yield pick(0, cap)
            cap = min(cap * self.multiplier, self.max_backoff)


NO_RETRY = RetryPolicy(attempts=1)
