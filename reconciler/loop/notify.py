"""Notifications: which events a pass calls for, and their delivery.

``Announcer`` decides (no I/O): after each pass it compares what the pass found with what was
announced before, so the same drift is announced once, not every pass (again after
``--renotify``). What it remembers goes into the state file, so a restarted loop (or a
``--once`` cron job) does not announce it again.

- ``drift_detected``: resources changed in Admin behind git's back (as ``reconciler drift``
  defines drift), announced when an address is new to the announced set;
- ``drift_resolved``: none is left (healed by ``--self-heal``, by a person, or by git);
- ``apply_failed``: applying changes failed (announced when the set of addresses changes);
- ``pass_failed``: a pass could not plan; ``pass_recovered``: the next pass that could.

``Sender`` delivers off the pass's critical path: a queue and a thread that POSTs JSON with a
short timeout to each ``--notify`` URL. The JSON is what Slack's incoming webhooks accept
(``text`` plus ``blocks``) and carries the event for machines too. A receiver that is down is
reported on stderr (by host only: webhook URLs hold tokens) and never stops a pass.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from reconciler.loop.state import PassReport, PassResult

DRIFT_DETECTED = "drift_detected"
DRIFT_RESOLVED = "drift_resolved"
APPLY_FAILED = "apply_failed"
PASS_FAILED = "pass_failed"
PASS_RECOVERED = "pass_recovered"
_SHOWN = 10  # addresses listed in the message text; the JSON has all of them


@dataclass(frozen=True)
class Notification:
    event: str
    title: str
    addresses: tuple[str, ...] = ()
    commit: str | None = None
    console_url: str | None = None
    resources: tuple[Mapping[str, Any], ...] = ()
    error: str | None = None
    timestamp: float = field(default_factory=time.time)

    def payload(self) -> dict[str, Any]:
        lines = [f"*{_escape(self.title)}*"]
        lines += [f"• `{_escape(a)}`" for a in self.addresses[:_SHOWN]]
        if len(self.addresses) > _SHOWN:
            lines.append(f"… and {len(self.addresses) - _SHOWN} more")
        if self.error:
            lines.append(f"```{_escape(self.error)}```")
        context = [f"commit `{self.commit[:12]}`" if self.commit else "commit unknown"]
        if self.console_url:
            context.append(f"<{self.console_url}|Flyte console>")
        text = self.title + (": " + ", ".join(self.addresses[:_SHOWN]) if self.addresses else "")
        return {
            "text": text,
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]},
            ],
            "event": self.event,
            "addresses": list(self.addresses),
            "commit": self.commit,
            "console_url": self.console_url,
            "resources": [dict(r) for r in self.resources],
            "error": self.error,
            "timestamp": self.timestamp,
        }


def _escape(text: str) -> str:
    """Slack mrkdwn's three control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


class Announcer:
    def __init__(self, renotify: float, memory: Mapping[str, Any] | None = None) -> None:
        self.renotify = renotify
        self._memory: dict[str, Any] = dict(memory or {})

    @property
    def memory(self) -> dict[str, Any]:
        """What was announced (addresses and when), for the state file."""
        return json.loads(json.dumps(self._memory))  # type: ignore[no-any-return]

    def after(self, report: PassReport, now: float) -> list[Notification]:
        if report.result is PassResult.ERROR:
            return self._pass_failed(report, now)
        found: list[Notification] = []
        if self._memory.pop(PASS_FAILED, None) is not None:
            found.append(self._note(PASS_RECOVERED, "Reconcile passes work again", report))
        found += self._drift(report, now)
        found += self._apply_failures(report, now)
        return found

    def _pass_failed(self, report: PassReport, now: float) -> list[Notification]:
        before = self._memory.get(PASS_FAILED)
        if before is not None and now - float(before["at"]) < self.renotify:
            return []
        self._memory[PASS_FAILED] = {"at": now}
        note = self._note(PASS_FAILED, "Reconcile pass failed", report, error=report.error)
        return [note]

    def _drift(self, report: PassReport, now: float) -> list[Notification]:
        drift = sorted(report.drift)
        before = self._memory.get(DRIFT_DETECTED)
        announced = set(before["addresses"]) if before else set()
        if not drift:
            if before is None:
                return []
            del self._memory[DRIFT_DETECTED]
            title = f"Drift resolved: {_plural(len(announced), 'resource')} match git again"
            return [self._note(DRIFT_RESOLVED, title, report, sorted(announced))]
        due = before is None or now - float(before["at"]) >= self.renotify
        if before is not None and not due and set(drift) <= announced:
            # the same drift, or part of it: already announced (remember what is left)
            self._memory[DRIFT_DETECTED] = {"addresses": drift, "at": before["at"]}
            return []
        self._memory[DRIFT_DETECTED] = {"addresses": drift, "at": now}
        healed = {r.address for r in report.resources if r.healed}
        title = (
            f"Drift detected: {_plural(len(drift), 'resource')} changed in Admin behind git's back"
        )
        if healed >= set(drift):
            title += " (restored by --self-heal)"
        elif not report.self_heal:
            title += " (report only: not restored)"
        return [self._note(DRIFT_DETECTED, title, report, drift)]

    def _apply_failures(self, report: PassReport, now: float) -> list[Notification]:
        failed = sorted(address for address, _ in report.failures)
        before = self._memory.get(APPLY_FAILED)
        if not failed:
            self._memory.pop(APPLY_FAILED, None)
            return []
        if (
            before is not None
            and set(before["addresses"]) == set(failed)
            and now - float(before["at"]) < self.renotify
        ):
            return []
        self._memory[APPLY_FAILED] = {"addresses": failed, "at": now}
        title = f"Apply failed for {_plural(len(failed), 'resource')}"
        error = "\n".join(f"{a}: {m}" for a, m in report.failures)
        return [self._note(APPLY_FAILED, title, report, failed, error=error)]

    @staticmethod
    def _note(
        event: str,
        title: str,
        report: PassReport,
        addresses: Sequence[str] = (),
        *,
        error: str | None = None,
    ) -> Notification:
        by_address = {r.address: r for r in report.resources}
        resources = []
        for address in addresses:
            resource = by_address.get(address)
            resources.append(resource.to_json() if resource is not None else {"address": address})
        links = [r.get("console_url") for r in resources if r.get("console_url")]
        console = links[0] if len(links) == 1 else _console_root(report.console)
        return Notification(
            event,
            title,
            tuple(addresses),
            report.commit,
            console,
            tuple(resources),
            error,
        )


def _console_root(console: str | None) -> str | None:
    return f"{console.rstrip('/')}/console" if console else None


def redact_url(url: str) -> str:
    """A webhook URL without its path and credentials (Slack's path is its token)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


class Sender:
    def __init__(
        self,
        urls: Sequence[str],
        *,
        timeout: float = 5.0,
        on_error: Callable[[str], None] = lambda message: None,
        capacity: int = 100,
    ) -> None:
        self.urls = tuple(urls)
        self.timeout = timeout
        self._on_error = on_error
        self._queue: queue.Queue[Notification | None] = queue.Queue(maxsize=capacity)
        self._thread = threading.Thread(target=self._run, name="notify", daemon=True)
        self._thread.start()

    def send(self, notification: Notification) -> None:
        """Queue it and return at once."""
        if not self.urls:
            return
        try:
            self._queue.put_nowait(notification)
        except queue.Full:
            self._on_error(f"notify: {notification.event} dropped: too many waiting to be sent")

    def close(self, timeout: float) -> None:
        """Deliver what is queued, for at most ``timeout`` seconds."""
        try:
            self._queue.put(None, timeout=max(timeout, 0.0))
        except queue.Full:
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            notification = self._queue.get()
            if notification is None:
                return
            body = json.dumps(notification.payload(), default=str).encode("utf-8")
            for url in self.urls:
                self._post(url, body, notification.event)

    def _post(self, url: str, body: bytes, event: str) -> None:
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            self._on_error(f"notify: {event} to {redact_url(url)} failed: HTTP {exc.code}")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            self._on_error(f"notify: {event} to {redact_url(url)} failed: {reason}")
