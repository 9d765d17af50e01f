"""The renderers of apply, ``--wait``, status, signals, drift and ping: typed reports in, exactly
these bytes out, on the stream they are given (colour only on a terminal, and a StringIO is
not one). What the commands put into the reports is tested through the CLI (tests/engine)."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone

from flyteidl.core import identifier_pb2

from reconciler.apply.run import Result
from reconciler.apply.wait import RunState, Waited
from reconciler.plan.model import Action, Change, FieldDiff
from reconciler.render import apply, drift, ping, signals, status

LP = Change(
    "LaunchPlan/p/d/lp1",
    Action.UPDATE,
    before={"active": False},
    after={"active": True},
    diff=(FieldDiff("spec.active", False, True),),
    reason="activate version v1",
)
RUN = Change("Execution/p/d/run-1", Action.CREATE, after={"inputs": {"a": 1}})


def _out() -> io.StringIO:
    return io.StringIO()


def test_apply_prints_each_result_then_the_summary_and_every_failure() -> None:
    launched = identifier_pb2.WorkflowExecutionIdentifier(project="p", domain="d", name="run-1")
    results = (
        Result(LP, False, "refused: it changed"),
        Result(RUN, True, "created", "https://console/run-1", (launched,)),
    )
    out = _out()
    for result in results:
        apply.render_result(result, out)
    report = apply.ApplyReport(results)
    apply.render_summary(report, out)
    assert out.getvalue() == (
        "failed LaunchPlan/p/d/lp1: refused: it changed\n"
        "ok Execution/p/d/run-1: created\n"
        "    https://console/run-1\n"
        "Apply: 1 done, 1 failed.\n"
        "  failed: LaunchPlan/p/d/lp1: refused: it changed\n"
    )
    assert report.launched == (launched,)


def test_wait_says_what_failed_and_what_it_gave_up_on() -> None:
    out = _out()
    apply.render_waiting(3, 60.0, out)
    waited = Waited(
        (
            RunState("a", "SUCCEEDED"),
            RunState("b", "FAILED", "node n0 failed"),
            RunState("c", "ABORTED"),
            RunState("d", "RUNNING"),
        ),
        finished=False,
    )
    for state in waited.states:
        apply.render_phase(state, out)
    apply.render_waited(waited, out)
    assert out.getvalue() == (
        "Waiting for 3 run(s) (at most 60s)...\n"
        "  a: SUCCEEDED\n  b: FAILED\n  c: ABORTED\n  d: RUNNING\n"
        "  failed: b FAILED: node n0 failed\n"
        "  failed: c ABORTED\n"
        "  timed out waiting for d\n"
    )
    assert not waited.succeeded
    assert Waited((RunState("a", "SUCCEEDED"),), finished=True).succeeded


RUN_STATUS = status.RunStatus(
    manifest="Execution/p/d/run-1",
    execution="p/d/run-1",
    phase="FAILED",
    started_at="2026-01-01T00:00:00Z",
    duration_seconds=2.25,
    error="boom",
    console_url="https://console/run-1",
    inputs={"when": datetime(2026, 1, 1, tzinfo=timezone.utc), "a": 1},
    outputs={},
    spans=status.Span(
        "workflow:run-1",
        2.25,
        tuple(status.Span(f"node:n{i}", None) for i in range(9)),
    ),
)


def test_status_text_shows_what_is_known_of_each_run() -> None:
    out = _out()
    report = status.StatusReport((RUN_STATUS,), ("Backfill/p/d/jan",))
    status.render_text(report, out)
    nodes = ", ".join(f"node:n{i}" for i in range(8))
    assert out.getvalue() == (
        "p/d/run-1  FAILED in 2.2s  (Execution/p/d/run-1)\n"
        "    error: boom\n"
        '    inputs: {"a": 1, "when": "2026-01-01T00:00:00Z"}\n'
        "    https://console/run-1\n"
        f"    spans: workflow:run-1 2.2s [{nodes}, ...]\n"
        "Backfill/p/d/jan: not launched\n"
    )


def test_status_json_keeps_its_keys_and_names_a_data_error_only_when_there_is_one() -> None:
    out = _out()
    unreadable = status.RunStatus(
        "Execution/p/d/run-2", "p/d/run-2", "RUNNING", None, None, None, None, None, None, None,
        data_error="PermissionDenied",
    )  # fmt: skip
    status.render_json(status.StatusReport((RUN_STATUS, unreadable), ()), out)
    data = json.loads(out.getvalue())
    first, second = data["runs"]
    assert list(first) == [
        "manifest", "execution", "phase", "started_at", "duration_seconds", "error",
        "console_url", "inputs", "outputs", "spans",
    ]  # fmt: skip
    assert first["spans"]["spans"][0] == {"what": "node:n0", "seconds": None}
    assert list(second)[-2:] == ["data_error", "spans"]
    assert (second["inputs"], second["data_error"], second["spans"]) == (
        None,
        "PermissionDenied",
        None,
    )
    assert data["not_launched"] == []
    assert status.RunStatus.from_json(first).to_json() == first


def test_signals_text_says_set_waiting_or_not_set_and_why() -> None:
    rows = (
        signals.SignalRow("p/d/run-1", "ok", "bool", "set", True, "RUNNING"),
        signals.SignalRow("p/d/run-1", "n", "int", "waiting", None, "RUNNING"),
        signals.SignalRow("p/d/run-2", "key", "str", "not set", None, "ABORTED"),
    )
    out = _out()
    signals.render_text(signals.SignalsReport(rows), out)
    assert out.getvalue() == (
        "p/d/run-1  ok  (bool)  set to true\n"
        "p/d/run-1  n  (int)  waiting\n"
        "p/d/run-2  key  (str)  not set; run ABORTED\n"
    )
    empty = _out()
    signals.render_text(signals.SignalsReport(()), empty)
    assert empty.getvalue() == "No signals: none of these runs has reached a gate.\n"
    as_json = _out()
    signals.render_json(signals.SignalsReport(rows[:1]), as_json)
    assert json.loads(as_json.getvalue()) == {
        "signals": [
            {
                "execution": "p/d/run-1",
                "signal": "ok",
                "type": "bool",
                "state": "set",
                "value": True,
                "run_phase": "RUNNING",
            }
        ]
    }


def test_drift_text_and_json() -> None:
    out = _out()
    drift.render_text(drift.DriftReport((LP,)), out)
    assert out.getvalue() == (
        "~ LaunchPlan/p/d/lp1\n"
        "    activate version v1\n"
        "    spec.active: Admin has false, git says true\n"
        "Drift: 1 resource(s) differ from git.\n"
    )
    none = _out()
    drift.render_text(drift.DriftReport(()), none)
    assert none.getvalue() == "No drift: Admin matches git for the managed resources.\n"
    as_json = _out()
    drift.render_json(drift.DriftReport((LP,)), as_json)
    data = json.loads(as_json.getvalue())
    assert data["count"] == 1
    assert data["drift"][0]["address"] == "LaunchPlan/p/d/lp1"


def test_ping_names_the_admin_its_version_and_the_projects() -> None:
    out = _out()
    ping.render_text(ping.PingReport("dns:///flyte:443", "v1.16.8", ("a", "b")), out)
    ping.render_text(ping.PingReport("local", "v1", ()), out)
    assert out.getvalue() == (
        "FlyteAdmin at dns:///flyte:443: version v1.16.8\nprojects: a, b\n"
        "FlyteAdmin at local: version v1\nprojects: (none visible)\n"
    )
