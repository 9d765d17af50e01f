"""The plan as data: its JSON format, summary, and the three renderers."""

from __future__ import annotations

import base64
import hashlib
import io
import json

import pytest

from reconciler.loop.state import LoopState, PassReport, PassResult, ResourceState
from reconciler.plan.diff import diff
from reconciler.plan.model import (
    FORMAT_VERSION,
    Action,
    Change,
    FieldDiff,
    Operation,
    Plan,
    Source,
)
from reconciler.render.drift import DriftReport
from reconciler.render.drift import render_json as render_drift_json
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
    assert out.getvalue() == (
        "Source: not in a git repository (no commit recorded)\n"
        "No changes: Admin matches the manifests.\nPlan: 1 unchanged.\n"
    )


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


COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_the_source_is_saved_next_to_the_format_version_and_read_back() -> None:
    source = Source("/src/repo", COMMIT, "v3", dirty=False)
    plan = Plan(_plan().changes, {"root": "/src/repo/manifests"}, source)
    data = json.loads(plan.dumps())
    assert list(data)[:2] == ["format_version", "source"]
    assert data["source"] == {"repo": "/src/repo", "commit": COMMIT, "ref": "v3", "dirty": False}
    assert Plan.from_json(data) == plan
    assert json.loads(_plan().dumps())["source"] is None
    older = {k: v for k, v in data.items() if k != "source"}  # saved before sources existed
    assert Plan.from_json(older).source is None
    with pytest.raises(ValueError, match="not 40 hexadecimal digits"):
        Plan.from_json({**data, "source": {**data["source"], "commit": "HEAD"}})


def test_a_dirty_source_never_labels_runs_with_the_bare_commit() -> None:
    assert Source("/r", COMMIT).label == "0123456789ab"
    assert Source("/r", COMMIT, dirty=True).label == "0123456789ab-dirty"


@pytest.mark.parametrize(
    ("source", "line"),
    [
        (None, "Source: not in a git repository (no commit recorded)"),
        (Source("/r", COMMIT, "v3"), "Source: /r at 0123456789ab (--ref v3)"),
        (Source("/r", COMMIT), "Source: /r working tree, HEAD 0123456789ab"),
        (
            Source("/r", COMMIT, dirty=True),
            "Source: /r working tree, HEAD 0123456789ab with uncommitted changes to the "
            "manifests (runs are labelled 0123456789ab-dirty)",
        ),
    ],
)
def test_text_and_markdown_name_the_source_in_one_line(source: Source | None, line: str) -> None:
    plan = Plan(_plan().changes, {}, source)
    text, markdown = io.StringIO(), io.StringIO()
    render_text(plan, text)
    render_markdown(plan, markdown)
    assert text.getvalue().splitlines()[0] == line
    [shown] = [x for x in markdown.getvalue().splitlines() if x.startswith("Source: ")]
    assert ("with uncommitted changes" in shown) == bool(source and source.dirty)
    assert (source is None) == ("not in a git repository" in shown)


# --- file content: in the saved plan only -------------------------------------------------

CONTENT = b"region,amount\neu,10\nus,20\n" * 64


def _uploading() -> Plan:
    """A run launched from a local file: an upload (the file's bytes as payload), a launch."""
    upload = Operation("UploadPackage", b"\x0a\x01p", payload=CONTENT)
    return Plan.of(
        [
            Change(
                "Execution/p/d/crunch",
                Action.CREATE,
                None,
                {"inputs": {"data": "data/jan.csv (md5 abc)"}},
                reason="launch",
                operations=(upload, Operation("CreateExecution", b"\x0a\x01e")),
            )
        ]
    )


def _leaks(text: str) -> bool:
    encoded = base64.b64encode(CONTENT).decode()
    return "eu,10" in text or encoded[:40] in text or encoded[-40:] in text


def test_printed_plans_give_a_payloads_size_and_md5_and_never_its_bytes() -> None:
    printed = _uploading().dumps()
    assert not _leaks(printed)
    [upload, _] = json.loads(printed)["changes"][0]["operations"]
    assert upload == {
        "call": "UploadPackage",
        "request": "CgFw",
        "payload_bytes": len(CONTENT),
        "payload_md5": hashlib.md5(CONTENT).hexdigest(),
    }
    out = io.StringIO()
    render_json(_uploading(), out)
    assert out.getvalue() == printed


def test_the_saved_plan_keeps_the_payload_and_reads_back_whole() -> None:
    saved = json.loads(_uploading().dumps(payloads=True))
    [upload, _] = saved["changes"][0]["operations"]
    assert base64.b64decode(upload["payload"]) == CONTENT
    assert Plan.from_json(saved) == _uploading()


def test_a_printed_plan_with_uploads_is_refused_as_a_whole() -> None:
    with pytest.raises(ValueError, match="save plans with --out"):
        Plan.from_json(json.loads(_uploading().dumps()))
    # a plan without uploads prints whole: nothing is left out, so it may be applied
    assert Plan.from_json(json.loads(_plan().dumps())) == _plan()


def test_a_payload_that_does_not_match_its_size_and_md5_is_refused() -> None:
    saved = json.loads(_uploading().dumps(payloads=True))
    upload = saved["changes"][0]["operations"][0]
    upload["payload"] = base64.b64encode(CONTENT[:-1] + b"!").decode()
    with pytest.raises(ValueError, match="does not match its size and MD5"):
        Plan.from_json(saved)


def test_no_other_output_shows_a_payload() -> None:
    plan = _uploading()
    [change] = plan.changes
    shown = []
    for render in (render_text, render_markdown):
        out = io.StringIO()
        render(plan, out)
        shown.append(out.getvalue())
    out = io.StringIO()
    render_drift_json(DriftReport(plan.changes), out)
    shown.append(out.getvalue())
    resource = ResourceState.of(change, None, "http://console")
    report = PassReport(1, 0.0, 1.0, PassResult.DRIFTED, resources=(resource,))
    state = LoopState()
    state.record(report)
    shown.append(json.dumps(state.to_json(), default=str))  # /api/state, the state file
    shown.append(json.dumps(report.summary(), default=str))  # the JSON log line
    assert not any(_leaks(text) for text in shown)
    assert "data/jan.csv (md5 abc)" in shown[0]
