"""The plan as data: its JSON format, summary, and the three renderers."""

from __future__ import annotations

import io
import json

import pytest

from reconciler.plan.diff import diff
from reconciler.plan.model import FORMAT_VERSION, Action, Change, FieldDiff, Operation, Plan
from reconciler.render.plan import render_json, render_markdown, render_text, summary_line


def _plan() -> Plan:
    return Plan.of(
        [
            Change(
                "LaunchPlan/p/d/report",
                Action.CREATE,
                None,
                {"version": "v3"},
                reason="version v3 is not registered",
                operations=(Operation("CreateLaunchPlan", b"\x0a\x02hi"),),
                observed={"launch_plans": [["p", "d", "report"]], "digest": "abc"},
            ),
            Change(
                "LaunchPlan/p/d/weekly",
                Action.UPDATE,
                {"active": False},
                {"active": True},
                diff=(FieldDiff("spec.active", False, True),),
            ),
            Change(
                "Execution/p/d/run-1", Action.NOOP, {"phase": "SUCCEEDED"}, {"phase": "SUCCEEDED"}
            ),
            Change(
                "Execution/p/d/run-2",
                Action.CONFLICT,
                {"inputs": {"month": "2026-10"}},
                {"inputs": {"month": "2026-11"}},
                diff=(FieldDiff("spec.inputs.month", "2026-10", "2026-11"),),
                reason="a launched execution cannot change; rename it to launch a new one",
            ),
            Change("Signal/p/d/run-3/ok", Action.WAIT, reason="the gate is not reached yet"),
        ]
    )


def test_json_round_trip_keeps_everything_apply_needs() -> None:
    plan = _plan()
    data = json.loads(plan.dumps())
    assert data["format_version"] == FORMAT_VERSION
    assert data["summary"]["create"] == 1
    [created] = [c for c in data["changes"] if c["action"] == "create"]
    assert created["operations"] == [{"call": "CreateLaunchPlan", "request": "CgJoaQ=="}]
    assert Plan.from_json(data) == plan


def test_unknown_format_version_is_refused() -> None:
    with pytest.raises(ValueError, match="format_version 2 is not supported"):
        Plan.from_json({"format_version": 2, "changes": []})


def test_changes_are_sorted_and_unique_by_address() -> None:
    assert [c.address for c in _plan().changes] == sorted(c.address for c in _plan().changes)
    with pytest.raises(ValueError, match="one change per address"):
        Plan.of([Change("A", Action.NOOP), Change("A", Action.CREATE)])


def test_summary_and_change_detection() -> None:
    plan = _plan()
    assert plan.has_changes
    assert summary_line(plan) == (
        "Plan: 1 to create, 1 to update, 1 in conflict, 1 waiting, 1 unchanged."
    )
    quiet = Plan.of([Change("A", Action.NOOP)])
    assert not quiet.has_changes
    assert summary_line(Plan()) == "Plan: nothing to do."


@pytest.mark.parametrize(
    ("action", "marker", "writes"),
    [
        (Action.CREATE, "+", True),
        (Action.UPDATE, "~", True),
        (Action.DEACTIVATE, "-", True),
        (Action.TERMINATE, "-", True),
        (Action.CONFLICT, "!", False),
        (Action.WAIT, "?", False),
        (Action.NOOP, " ", False),
    ],
)
def test_action_markers(action: Action, marker: str, writes: bool) -> None:
    assert (action.marker, action.writes) == (marker, writes)


def test_text_rendering_hides_unchanged_resources_and_has_no_colour_off_a_terminal() -> None:
    out = io.StringIO()
    render_text(_plan(), out)
    text = out.getvalue()
    assert "\x1b[" not in text
    assert "+ LaunchPlan/p/d/report  (create)\n    version v3 is not registered\n" in text
    assert "~ LaunchPlan/p/d/weekly  (update)\n    spec.active: false -> true\n" in text
    assert '    spec.inputs.month: "2026-10" -> "2026-11"\n' in text
    assert "? Signal/p/d/run-3/ok  (wait)" in text
    assert "run-1" not in text
    assert text.endswith("Plan: 1 to create, 1 to update, 1 in conflict, 1 waiting, 1 unchanged.\n")


def test_verbose_text_shows_unchanged_resources() -> None:
    out = io.StringIO()
    render_text(_plan(), out, verbose=True)
    assert "  Execution/p/d/run-1  (noop)" in out.getvalue()


def test_empty_plan_says_so() -> None:
    out = io.StringIO()
    render_text(Plan.of([Change("A", Action.NOOP)]), out)
    assert out.getvalue() == "No changes: Admin matches the manifests.\nPlan: 1 unchanged.\n"


def test_markdown_has_a_table_and_diffs() -> None:
    out = io.StringIO()
    render_markdown(_plan(), out)
    text = out.getvalue()
    assert "| `+` | `LaunchPlan/p/d/report` | create | version v3 is not registered |" in text
    assert '```diff\n- spec.inputs.month: "2026-10"\n+ spec.inputs.month: "2026-11"\n```' in text
    assert text.endswith(
        "**Plan: 1 to create, 1 to update, 1 in conflict, 1 waiting, 1 unchanged.**\n"
    )


def test_json_renderer_writes_the_saved_plan_format() -> None:
    out = io.StringIO()
    render_json(_plan(), out)
    assert Plan.from_json(json.loads(out.getvalue())) == _plan()


def test_field_diffs_name_changed_added_and_removed_keys() -> None:
    before = {"spec": {"schedule": {"cron": "0 6 * * *"}, "labels": {"team": "a", "old": "x"}}}
    after = {
        "spec": {
            "schedule": {"cron": "0 7 * * *"},
            "labels": {"team": "a", "new": "y"},
            "notifications": [{"phases": ["FAILED"]}],
        }
    }
    assert diff(before, after) == (
        FieldDiff("spec.labels.new", None, "y"),
        FieldDiff("spec.labels.old", "x", None),
        FieldDiff("spec.notifications", None, [{"phases": ["FAILED"]}]),
        FieldDiff("spec.schedule.cron", "0 6 * * *", "0 7 * * *"),
    )
    assert diff(before, before) == ()
