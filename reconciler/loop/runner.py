"""Passes and their schedule.

A pass: check the source out, plan (``compute_plan``, as ``plan`` does), then, with
``--self-heal`` and an open sync window, apply (``apply_plan``, as ``apply`` does; told to stop
starting operations when the loop stops). Its outcome is recorded (state, metrics), logged (one
line, text or JSON), and announced (notifications, off the critical path).

Passes run one at a time on the loop's thread (and under a lock besides): every ``interval``
(plus or minus ``jitter``), and at once when ``trigger`` is called (a push webhook). Triggers
that arrive during a pass are folded into the next one. A pass that fails is reported and the
loop goes on: a long-running loop must outlive a flaky Admin or a bad commit.
"""

from __future__ import annotations

import dataclasses
import json
import random
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, TextIO

from reconciler.admin.client import call_observer
from reconciler.apply.run import Result, apply_plan
from reconciler.config import SyncWindow
from reconciler.errors import InvalidManifestsError, ReconcilerError
from reconciler.loop import windows
from reconciler.loop.metrics import LoopMetrics
from reconciler.loop.notify import Announcer, Sender
from reconciler.loop.source import Source
from reconciler.loop.state import (
    LoopState,
    PassReport,
    PassResult,
    ResourceState,
    Status,
    failures_of,
    write_state_file,
)
from reconciler.loop.webhook import Verdict, judge
from reconciler.pipeline import QUIET, AdminOptions, Terminal, compute_plan, connected
from reconciler.plan.drift import drifted
from reconciler.plan.model import json_default
from reconciler.render.page import PageOptions

READY_INTERVALS = 3


@dataclass(frozen=True)
class LoopOptions:
    admin: AdminOptions  # paths: what the command was given; each pass reads its source's
    interval: float = 300.0
    jitter: float = 0.1
    self_heal: bool = False
    renotify: float = 86400.0
    log_format: Literal["text", "json"] = "text"
    state_file: Path | None = None
    webhook_secret: str | None = None


class Loop:
    def __init__(
        self,
        options: LoopOptions,
        source: Source,
        environ: Mapping[str, str],
        *,
        out: TextIO,
        err: TextIO,
        sender: Sender | None = None,
        restored: Mapping[str, Any] | None = None,
        terminal: Terminal = QUIET,
    ) -> None:
        """``terminal``: the person running the loop, if any (``-v`` notes, a login)."""
        self.options = options
        self.source = source
        self.environ = environ
        self.out = out
        self.err = err
        self.terminal = terminal
        self.sender = sender
        self.stopping = threading.Event()
        self.state = LoopState(
            source=source.describe(),
            loop={"interval_seconds": options.interval, "self_heal": options.self_heal},
        )
        self.announcer = Announcer(options.renotify, (restored or {}).get("notifications"))
        if restored:
            self.state.restore(restored)
        self.metrics = LoopMetrics(self._window_open)
        self.last_report: PassReport | None = None
        self._windows: Sequence[SyncWindow] | None = None  # from the last pass's settings
        self._wake = threading.Event()
        self._pass_lock = threading.Lock()
        self._triggers: list[str] = []
        self._triggers_lock = threading.Lock()
        self._passes = int((self.state.last_pass or {}).get("pass", 0))
        self._succeeded_at: float | None = None  # monotonic, this process only
        self._random = random.Random()
        self._commit: str | None = None  # the commit this pass checked out, once it has

    # --- scheduling -------------------------------------------------------------------------

    def trigger(self, reason: str) -> None:
        """Run a pass as soon as possible (folded into the next pass if one is running)."""
        with self._triggers_lock:
            self._triggers.append(reason)
        self._wake.set()

    def stop(self) -> None:
        """Start no new pass and no new operation; what is in flight finishes."""
        self.stopping.set()
        self._wake.set()

    def run(self, *, once: bool = False) -> PassReport | None:
        """Passes until ``stop()`` (one with ``once``); returns the last one."""
        self.trigger("once" if once else "start")
        while not self.stopping.is_set():
            self._wake.clear()
            self.run_pass()
            if once or self.stopping.is_set():
                break
            self._wake.wait(self._delay())
        return self.last_report

    def _delay(self) -> float:
        spread = self.options.interval * self.options.jitter
        return max(0.0, self.options.interval + self._random.uniform(-spread, spread))

    def _take_triggers(self) -> tuple[str, ...]:
        with self._triggers_lock:
            taken, self._triggers = self._triggers, []
        return tuple(dict.fromkeys(taken)) or ("interval",)

    # --- one pass ---------------------------------------------------------------------------

    def run_pass(self) -> PassReport:
        with self._pass_lock:
            self._passes += 1
            number, triggers = self._passes, self._take_triggers()
            started, clock = time.time(), time.perf_counter()
            self._commit = None
            token = call_observer.set(self.metrics.observe_rpc)
            try:
                report = self._pass(number, triggers, started, clock)
            except Exception as exc:  # a bug in a pass must not end the loop; say what it was
                if not isinstance(exc, ReconcilerError) and self.environ.get("RECONCILER_DEBUG"):
                    traceback.print_exc(file=self.err)
                report = PassReport(
                    number,
                    started,
                    time.perf_counter() - clock,
                    PassResult.ERROR,
                    triggers,
                    commit=self._commit,  # which commit broke the manifests, say
                    self_heal=self.options.self_heal,
                    error=_message(exc),
                )
            finally:
                call_observer.reset(token)
            self._record(report)
            return report

    def _pass(
        self, number: int, triggers: tuple[str, ...], started: float, clock: float
    ) -> PassReport:
        revision = self.source.checkout()
        self._commit = revision.commit
        admin = dataclasses.replace(self.options.admin, paths=revision.paths)
        planned = compute_plan(admin, self.environ, self.terminal)
        plan, settings = planned.plan, planned.settings
        self._windows = settings.sync_windows
        window = windows.verdict(settings.sync_windows, datetime.now(timezone.utc))
        results: dict[str, Result] = {}
        not_applied = None
        if any(c.action.writes for c in plan.changes):
            if not self.options.self_heal:
                not_applied = "report only (no --self-heal)"
            elif not window.open:
                not_applied = f"sync window closed: {window.reason}"
            elif self.stopping.is_set():
                not_applied = "stopping"
            else:
                admin_client = connected(
                    settings, admin.flags, self.environ, terminal=self.terminal
                )
                with admin_client as (client, _):
                    for result in apply_plan(
                        plan,
                        client,
                        parallelism=settings.parallelism,
                        console=planned.connection.console_endpoint,
                        stop=self.stopping,
                    ):
                        results[result.change.address] = result
        console = planned.connection.console_endpoint
        resources = tuple(
            ResourceState.of(c, results.get(c.address), console) for c in plan.changes
        )
        failures = failures_of(list(results.values()))
        left = any(
            r.status in (Status.DRIFTED, Status.CONFLICT, Status.FAILED) and not r.healed
            for r in resources
        )
        outcome = (
            PassResult.FAILED if failures else PassResult.DRIFTED if left else PassResult.SYNCED
        )
        return PassReport(
            number,
            started,
            time.perf_counter() - clock,
            outcome,
            triggers,
            commit=revision.commit,
            self_heal=self.options.self_heal,
            applied=bool(results),
            not_applied=not_applied,
            sync_window_open=window.open,
            resources=resources,
            drift=tuple(c.address for c in drifted(plan.changes)),
            failures=failures,
            console=console,
        )

    def _record(self, report: PassReport) -> None:
        self.last_report = report
        self.state.record(report)
        self.metrics.record(report)
        if report.result.succeeded:
            self._succeeded_at = time.monotonic()
        for notification in self.announcer.after(report, time.time()):
            if self.sender is not None:
                self.sender.send(notification)
        self._log(report)
        self.save()

    def save(self) -> None:
        if self.options.state_file is None:
            return
        try:
            write_state_file(self.options.state_file, self.state.to_json(self.announcer.memory))
        except OSError as exc:
            self._warn(f"warning: cannot write the state file: {exc}")

    # --- reporting --------------------------------------------------------------------------

    def _log(self, report: PassReport) -> None:
        if self.options.log_format == "json":
            line = json.dumps({"event": "pass", **report.summary()}, default=json_default)
            self.out.write(line + "\n")
        else:
            self.out.write(_text(report))
        self.out.flush()

    def ready(self) -> tuple[bool, str]:
        if self._succeeded_at is None:
            return False, "no pass has succeeded yet"
        age = time.monotonic() - self._succeeded_at
        limit = READY_INTERVALS * self.options.interval
        if age > limit:
            return False, f"the last successful pass was {age:.0f}s ago (more than {limit:.0f}s)"
        return True, f"the last successful pass was {age:.0f}s ago"

    def _window_open(self) -> bool | None:
        if self._windows is None:
            return None  # no pass has read the settings yet
        return windows.verdict(self._windows, datetime.now(timezone.utc)).open

    # --- what the HTTP server serves ----------------------------------------------------------

    def metrics_text(self) -> bytes:
        return self.metrics.exposition()

    def state_json(self) -> dict[str, Any]:
        return self.state.to_json()

    def page_options(self) -> PageOptions:
        return PageOptions()

    def hook(self, headers: Mapping[str, str], body: bytes) -> Verdict:
        verdict = judge(headers, body, self.options.webhook_secret, self.source.branch())
        if verdict.trigger and not self.stopping.is_set():
            self.trigger(verdict.message)
        elif not verdict.trigger:
            self._warn(f"webhook: {verdict.status}: {verdict.message}")
        return verdict

    def _warn(self, line: str) -> None:
        self.err.write(line + "\n")
        self.err.flush()


def _message(exc: BaseException) -> str:
    if isinstance(exc, InvalidManifestsError):
        return "invalid manifests:\n" + "\n".join(str(d) for d in exc.diagnostics)
    if isinstance(exc, ReconcilerError):
        return str(exc)
    return f"internal error: {type(exc).__name__}: {exc}"


def _text(report: PassReport) -> str:
    stamp = datetime.fromtimestamp(report.started, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    head = f"{stamp} pass {report.number} ({', '.join(report.triggers)})"
    if report.result is PassResult.ERROR:
        error = (report.error or "").replace("\n", "\n    ")
        return f"{head} failed after {report.duration:.2f}s: {error}\n"
    counts: dict[str, int] = {}
    for resource in report.resources:
        counts[resource.status.value] = counts.get(resource.status.value, 0) + 1
    found = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no resources"
    commit = f" at {report.commit[:12]}" if report.commit else ""
    lines = [f"{head}{commit}: {found}"]
    healed = sum(1 for r in report.resources if r.healed)
    if report.applied:
        lines.append(f"applied {healed}, {len(report.failures)} failed")
    elif report.not_applied:
        lines.append(f"not applied: {report.not_applied}")
    lines.append(f"{report.result.value} in {report.duration:.2f}s")
    text = "; ".join(lines) + "\n"
    for resource in report.resources:
        if resource.status is Status.SYNCED:
            continue
        detail = resource.reason
        if resource.healed:
            detail = f"{resource.message}: {detail}" if detail else str(resource.message)
        elif resource.status is Status.FAILED:
            detail = f"apply failed: {resource.message}"
        text += f"  {resource.action.marker} {resource.address}: {resource.status.value}"
        text += f" ({detail})\n" if detail else "\n"
    return text
