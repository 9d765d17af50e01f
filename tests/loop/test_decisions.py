"""The loop's decisions without I/O: sync windows, webhook signatures, what a pass announces,
and a resource's status."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from pydantic import ValidationError

from reconciler.apply.run import Result
from reconciler.config import Settings, SyncWindow
from reconciler.loop import windows
from reconciler.loop.notify import Announcer, Notification, redact_url
from reconciler.loop.state import PassReport, PassResult, ResourceState, Status, status_of
from reconciler.loop.webhook import github_signature, judge
from reconciler.plan.model import Action, Change

UTC = timezone.utc
SECRET = "hook-secret"
PUSH_MAIN = json.dumps({"ref": "refs/heads/main", "after": "abc"}).encode()


def _window(kind: str, schedule: str, duration: str) -> SyncWindow:
    return SyncWindow.model_validate({"kind": kind, "schedule": schedule, "duration": duration})


def test_a_deny_window_closes_from_its_tick_for_its_duration() -> None:
    nightly = [_window("deny", "0 22 * * *", "8h")]
    assert windows.verdict(nightly, datetime(2026, 3, 1, 21, 59, 59, tzinfo=UTC)).open
    assert not windows.verdict(nightly, datetime(2026, 3, 1, 22, 0, 0, tzinfo=UTC)).open
    closed = windows.verdict(nightly, datetime(2026, 3, 2, 5, 59, tzinfo=UTC))
    assert not closed.open
    assert "deny window '0 22 * * *' for 8h" in closed.reason
    assert windows.verdict(nightly, datetime(2026, 3, 2, 6, 0, 0, tzinfo=UTC)).open


def test_allow_windows_open_only_inside_one_and_deny_wins() -> None:
    office = [_window("allow", "0 9 * * MON-FRI", "8h")]
    assert windows.verdict(office, datetime(2026, 3, 2, 10, 0, tzinfo=UTC)).open  # a Monday
    shut = windows.verdict(office, datetime(2026, 3, 1, 10, 0, tzinfo=UTC))  # a Sunday
    assert not shut.open
    assert shut.reason == "outside every allow window"
    freeze = [*office, _window("deny", "0 12 * * *", "1h")]
    assert not windows.verdict(freeze, datetime(2026, 3, 2, 12, 30, tzinfo=UTC)).open
    assert windows.verdict([], datetime(2026, 3, 2, 12, 30, tzinfo=UTC)).open


def test_sync_windows_are_checked_in_reconciler_yaml() -> None:
    settings = Settings.model_validate(
        {
            "syncWindows": [{"kind": "deny", "schedule": "@daily", "duration": "1h30m"}],
            "environments": {"prod": {"syncWindows": []}},
        }
    )
    assert settings.sync_windows[0].duration == "1h30m"
    assert settings.for_environment("prod").sync_windows == []
    for bad in (
        {"kind": "maybe", "schedule": "@daily", "duration": "1h"},
        {"kind": "deny", "schedule": "61 * * * *", "duration": "1h"},
        {"kind": "deny", "schedule": "@daily", "duration": "0m"},
        {"kind": "deny", "schedule": "@daily", "duration": "soon"},
        {"kind": "deny", "schedule": "${env:CRON}", "duration": "1h"},
    ):
        with pytest.raises(ValidationError):
            Settings.model_validate({"syncWindows": [bad]})


def test_a_github_push_is_genuine_only_with_the_signature_of_its_body() -> None:
    good = {
        "x-hub-signature-256": github_signature(SECRET, PUSH_MAIN),
        "x-github-event": "push",
        "x-github-delivery": "d-1",
    }
    verdict = judge(good, PUSH_MAIN, SECRET, "main")
    assert (verdict.status, verdict.trigger, verdict.delivery) == (202, True, "d-1")
    forged = {**good, "x-hub-signature-256": github_signature("guess", PUSH_MAIN)}
    assert judge(forged, PUSH_MAIN, SECRET, "main").status == 401
    tampered = PUSH_MAIN.replace(b"abc", b"abd")
    assert judge(good, tampered, SECRET, "main").status == 401
    unsigned = {"x-github-event": "push"}
    assert judge(unsigned, PUSH_MAIN, SECRET, "main").status == 401
    assert judge(good, PUSH_MAIN, None, "main").status == 401  # no secret: nothing is trusted
    assert not judge({**forged, "x-hub-signature-256": "sha256=é"}, PUSH_MAIN, SECRET, None).trigger


def test_a_gitlab_push_carries_the_token_and_other_branches_are_ignored() -> None:
    headers = {"x-gitlab-token": SECRET, "x-gitlab-event": "Push Hook"}
    assert judge(headers, PUSH_MAIN, SECRET, "main").trigger
    assert judge({**headers, "x-gitlab-token": "nope"}, PUSH_MAIN, SECRET, "main").status == 401
    other = judge(headers, PUSH_MAIN, SECRET, "release")
    assert (other.status, other.trigger) == (204, False)
    assert judge(headers, PUSH_MAIN, SECRET, None).trigger  # no branch known: any push
    tag = judge({**headers, "x-gitlab-event": "Tag Push Hook"}, PUSH_MAIN, SECRET, "main")
    assert (tag.status, tag.trigger) == (204, False)
    assert judge(headers, b"not json", SECRET, "main").status == 400


def _change(address: str, action: Action, before: object = None) -> Change:
    return Change(address, action, before=before, reason=f"{action.value} it")


LP = "LaunchPlan/p/d/daily"


def _report(
    number: int,
    *changes: Change,
    result: PassResult = PassResult.DRIFTED,
    healed: tuple[str, ...] = (),
    failures: tuple[tuple[str, str], ...] = (),
    error: str | None = None,
) -> PassReport:
    resources = tuple(
        ResourceState.of(
            c,
            Result(c, True, "updated") if c.address in healed else None,
            "https://flyte.example.com",
        )
        for c in changes
    )
    drift = tuple(c.address for c in changes if c.before is not None and c.action.writes)
    return PassReport(
        number,
        1000.0 + number,
        0.5,
        PassResult.ERROR if error else result,
        commit="0123456789abcdef0123",
        resources=resources,
        drift=drift,
        failures=failures,
        error=error,
        console="https://flyte.example.com",
    )


def test_the_same_drift_is_announced_once_until_renotify() -> None:
    announcer = Announcer(renotify=3600)
    drifted = _change(LP, Action.UPDATE, before={"state": "INACTIVE"})
    first = announcer.after(_report(1, drifted), now=0)
    assert [n.event for n in first] == ["drift_detected"]
    assert first[0].addresses == (LP,)
    assert (
        first[0].console_url
        == "https://flyte.example.com/console/projects/p/domains/d/launchPlans/daily"
    )
    assert announcer.after(_report(2, drifted), now=60) == []
    assert announcer.after(_report(3, drifted), now=1800) == []
    assert [n.event for n in announcer.after(_report(4, drifted), now=3600)] == ["drift_detected"]
    other = _change("Execution/p/d/run", Action.UPDATE, before={})
    grown = announcer.after(_report(5, drifted, other), now=3700)
    assert [n.addresses for n in grown] == [("Execution/p/d/run", LP)]
    assert announcer.after(_report(6, drifted), now=3800) == []  # part of it: no news
    resolved = announcer.after(_report(7, _change(LP, Action.NOOP)), now=3900)
    assert [(n.event, n.addresses) for n in resolved] == [("drift_resolved", (LP,))]
    assert announcer.after(_report(8, _change(LP, Action.NOOP)), now=4000) == []


def test_what_was_announced_survives_a_restart() -> None:
    drifted = _change(LP, Action.DEACTIVATE, before={"state": "ACTIVE"})
    first = Announcer(renotify=3600)
    assert first.after(_report(1, drifted), now=0)
    second = Announcer(renotify=3600, memory=json.loads(json.dumps(first.memory)))
    assert second.after(_report(2, drifted), now=10) == []


def test_pending_creates_are_not_drift() -> None:
    announcer = Announcer(renotify=3600)
    assert announcer.after(_report(1, _change(LP, Action.CREATE)), now=0) == []


def test_failed_passes_and_applies_are_announced_once_and_recovery_too() -> None:
    announcer = Announcer(renotify=3600)
    failed = announcer.after(_report(1, error="GetVersion: cannot reach FlyteAdmin"), now=0)
    assert [(n.event, n.error) for n in failed] == [
        ("pass_failed", "GetVersion: cannot reach FlyteAdmin")
    ]
    assert announcer.after(_report(2, error="again"), now=10) == []
    drifted = _change(LP, Action.UPDATE, before={})
    failures = ((LP, "PERMISSION_DENIED"),)
    events = announcer.after(_report(3, drifted, failures=failures), now=20)
    assert [n.event for n in events] == ["pass_recovered", "drift_detected", "apply_failed"]
    assert events[2].addresses == (LP,)
    assert announcer.after(_report(4, drifted, failures=failures), now=30) == []


def test_a_notification_is_slack_json_with_the_event_for_machines() -> None:
    announcer = Announcer(renotify=3600)
    drifted = _change(LP, Action.UPDATE, before={"state": "INACTIVE"})
    (note,) = announcer.after(_report(1, drifted, healed=(LP,)), now=0)
    payload = note.payload()
    assert payload["event"] == "drift_detected"
    assert "restored by --self-heal" in payload["text"]
    assert LP in payload["text"]
    assert payload["blocks"][0]["type"] == "section"
    assert "commit `0123456789ab`" in payload["blocks"][1]["elements"][0]["text"]
    assert payload["addresses"] == [LP]
    assert payload["commit"] == "0123456789abcdef0123"
    assert payload["resources"][0]["status"] == "drifted"
    assert payload["resources"][0]["healed"] is True
    escaped = Notification("pass_failed", "a <b> & c").payload()
    assert "a &lt;b&gt; &amp; c" in escaped["blocks"][0]["text"]["text"]


def test_webhook_urls_are_logged_without_their_token() -> None:
    shown = redact_url("https://user:pw@hooks.slack.com/services/T0/B0/XYZ")
    assert shown == "https://hooks.slack.com/…"


@pytest.mark.parametrize(
    ("action", "result", "status"),
    [
        (Action.NOOP, None, Status.SYNCED),
        (Action.WAIT, None, Status.WAITING),
        (Action.CONFLICT, None, Status.CONFLICT),
        (Action.CREATE, None, Status.DRIFTED),
        (Action.DEACTIVATE, "ok", Status.DRIFTED),
        (Action.SET, "failed", Status.FAILED),
        (Action.RELAUNCH, "not started", Status.DRIFTED),
    ],
)
def test_a_resource_status_follows_its_action_and_apply_result(
    action: Action, result: str | None, status: Status
) -> None:
    change = _change(LP, action)
    applied = {
        None: None,
        "ok": Result(change, True, "done"),
        "failed": Result(change, False, "boom"),
        "not started": Result(change, False, "not started: stopping", started=False),
    }[result]
    assert status_of(change, applied) is status
