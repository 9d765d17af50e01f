"""States for the page, made the way the loop makes them: plan ``Change`` values turned into
``ResourceState`` and recorded by ``LoopState`` (so a test cannot feed the page a shape the
loop never writes)."""

from __future__ import annotations

import random
from typing import Any

from reconciler.apply.run import Result
from reconciler.loop.state import LoopState, PassReport, PassResult, ResourceState
from reconciler.plan.model import Action, Change, FieldDiff

CONSOLE = "https://flyte.example.com"
EVIL = "<script>alert(1)</script>"
START = 1_780_000_000.0  # 2026-05-28

PROJECTS = ("flytesnacks", "analytics", "ml-platform", "data-eng", "finance")
DOMAINS = ("development", "staging", "production")
_LP_NAMES = ("daily_report", "weekly_rollup", "train_model", "score_batch", "sync_warehouse")


def _change(kind: str, project: str, domain: str, name: str, action: Action) -> Change:
    address = f"{kind}/{project}/{domain}/{name}"
    if action is Action.NOOP:
        return Change(address, action, reason="")
    if action is Action.UPDATE:
        return Change(
            address,
            action,
            diff=(FieldDiff("spec.active", True, False),),
            reason="the schedule is inactive in Admin; it will be activated",
        )
    if action is Action.CONFLICT:
        return Change(
            address,
            action,
            diff=(
                FieldDiff("spec.defaultInputs.region", "eu", "us-east-1"),
                FieldDiff("spec.schedule.cron", "0 6 * * *", "30 5 * * *"),
            ),
            reason="version v3 exists in Admin with a different spec; bump spec.version",
        )
    if action is Action.WAIT:
        return Change(address, action, reason="execution has not reached the gate yet")
    return Change(
        address,
        action,
        after={"spec": {"launchPlan": {"name": "daily_report"}, "inputs": {"month": "2026-11"}}},
        reason="not launched yet",
    )


def thousand(console: str | None = CONSOLE, seed: int = 7) -> dict[str, Any]:
    """1,000 resources over 5 projects and 3 domains, as a big tree has them: mostly launch
    plans and runs, about 92% in sync, the rest drifted (5%), in conflict, waiting, or failed
    to apply (1% each); with console links; names as long as real ones."""
    rng = random.Random(seed)
    changes: list[tuple[Change, Result | None]] = []
    for i in range(1000):
        project, domain = PROJECTS[i % 5], DOMAINS[(i // 5) % 3]
        roll = rng.random()
        if i % 10 < 6:
            kind, name = "LaunchPlan", f"{_LP_NAMES[i % 5]}_{i:03d}"
        elif i % 10 < 9:
            kind, name = "Execution", f"{_LP_NAMES[i % 5].replace('_', '-')}-2026-11-{i:03d}"
        else:
            kind, name = "Backfill", f"backfill-2026-10-{i:03d}"
        if roll < 0.92:
            action = Action.NOOP
        elif roll < 0.97:
            action = Action.UPDATE if kind == "LaunchPlan" else Action.CREATE
        elif roll < 0.98:
            action = Action.CONFLICT
        elif roll < 0.99:
            action = Action.WAIT
        else:
            action = Action.UPDATE
        change = _change(kind, project, domain, name, action)
        message = "UNAVAILABLE: admin went away"
        result = Result(change, ok=False, message=message) if roll >= 0.99 else None
        changes.append((change, result))
    resources = tuple(ResourceState.of(c, r, console) for c, r in changes)
    return record(resources, passes=50)


def record(
    resources: tuple[ResourceState, ...],
    *,
    passes: int = 3,
    commit: str = "4f1c2e9ab3d7c8e0f6a5b4c3d2e1f0a9b8c7d6e5",
    applied_commit: str = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b",
    interval: float = 300.0,
) -> dict[str, Any]:
    """A state after ``passes`` passes: the earlier ones applied ``applied_commit``, the last
    found ``resources`` at ``commit``."""
    state = LoopState(
        source={"paths": ["manifests"], "branch": "main"},
        loop={"interval_seconds": interval, "self_heal": False},
    )
    for number in range(1, passes):
        state.record(
            PassReport(
                number,
                START + number * interval,
                1.5,
                PassResult.SYNCED,
                ("interval",),
                commit=applied_commit,
                applied=number == 1,
            )
        )
    left = any(r.status.value != "synced" for r in resources)
    state.record(
        PassReport(
            passes,
            START + passes * interval,
            2.25,
            PassResult.DRIFTED if left else PassResult.SYNCED,
            ("webhook github 1234",),
            commit=commit,
            not_applied="report only (no --self-heal)" if left else None,
            resources=resources,
            drift=tuple(r.address for r in resources if r.status.value == "drifted"),
        )
    )
    return state.to_json()
