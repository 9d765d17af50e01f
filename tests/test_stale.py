"""The stale check of a saved plan: the digests of what each change was planned against."""

from __future__ import annotations

from typing import Any

import pytest
from flyteidl.admin import common_pb2, launch_plan_pb2
from flyteidl.core import identifier_pb2

from reconciler.apply import stale
from reconciler.kinds import launchplan as launchplans
from reconciler.plan.model import Action, Change, Plan
from reconciler.read import Actual

KEY = ("p", "d", "daily")
ADDRESS = "LaunchPlan/p/d/daily"


def _actual() -> Actual:
    stored = launch_plan_pb2.LaunchPlan(
        id=identifier_pb2.Identifier(
            resource_type=identifier_pb2.LAUNCH_PLAN, project="p", domain="d", name="daily"
        ),
        spec=launch_plan_pb2.LaunchPlanSpec(labels=common_pb2.Labels(values={"team": "a"})),
        closure=launch_plan_pb2.LaunchPlanClosure(state=launch_plan_pb2.INACTIVE),
    )
    stored.id.version = "v1"
    return Actual(launch_plans={KEY: [stored]})


def _stale(monkeypatch: pytest.MonkeyPatch, digest: str) -> list[str]:
    actual = _actual()

    def fetch_actual(*args: Any, **kwargs: Any) -> Actual:
        return actual

    monkeypatch.setattr(stale, "fetch_actual", fetch_actual)
    change = Change(
        ADDRESS,
        Action.UPDATE,
        observed={"launch_plans": [list(KEY)], "digest": digest},
    )
    return stale.stale_addresses(Plan((change,)), client=None)  # type: ignore[arg-type]


def test_a_launch_plan_digest_made_now_or_by_an_earlier_build_is_not_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = launchplans.observed(_actual(), KEY)["digest"]
    earlier = launchplans.observed(_actual(), KEY, legacy=True)["digest"]
    assert now != earlier
    assert _stale(monkeypatch, now) == []
    assert _stale(monkeypatch, earlier) == []


def test_a_launch_plan_digest_of_another_state_is_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _stale(monkeypatch, "0" * 16) == [ADDRESS]
