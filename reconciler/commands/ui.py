"""``reconciler ui STATEFILE``: the status page of a saved state file, read-only.

The file is the loop's ``--state-file`` (a ``--once`` CronJob's, or one copied out of a pod).
It is read again whenever it changes, so the page follows a loop that still writes it; a
version that cannot be read (a half-copied file) leaves the last good one on the page. The
server has no ``/metrics``, ``/readyz`` or ``/hooks/git``: there is no loop behind it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import click

from reconciler.commands import Outcome
from reconciler.errors import UsageError
from reconciler.loop.http import Server
from reconciler.loop.state import read_state_file
from reconciler.render.page import PageOptions

# Next to a loop's default 127.0.0.1:9464, so that both can run on one machine.
DEFAULT_UI_LISTEN = "127.0.0.1:9465"


@dataclass(frozen=True)
class UiOptions:
    state_file: Path
    listen: str = DEFAULT_UI_LISTEN


class StateFile:
    """A state file as the source of the page."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        data = _read(path)
        if data is None:
            raise UsageError(
                f"{path}: not a state file of `reconciler reconcile` (its --state-file), "
                "or it cannot be read"
            )
        self._data: Mapping[str, Any] = data
        self._seen = self._stamp()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def state_json(self) -> Mapping[str, Any]:
        with self._lock:
            stamp = self._stamp()
            if stamp is not None and stamp != self._seen:
                data = _read(self.path)
                if data is not None:
                    self._data, self._seen = data, stamp
            return self._data

    def page_options(self) -> PageOptions:
        return PageOptions(read_only_from=str(self.path))


def _read(path: Path) -> dict[str, Any] | None:
    data = read_state_file(path)
    if data is None or not isinstance(data.get("passes"), list):
        return None  # a saved plan has a format_version 1 too
    return data


def run_ui(options: UiOptions, err: TextIO, stop: threading.Event | None = None) -> Outcome:
    """Serve until ``stop`` is set, or SIGTERM/SIGINT when called from the main thread."""
    stop = stop or threading.Event()
    server = Server(options.listen, StateFile(options.state_file)).start()
    signalled: list[int] = []
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda n, _frame: signalled.append(n))
    try:
        click.echo(f"status page of {options.state_file} (read-only) on {server.url}", file=err)
        # polled: Event.set() from a signal handler can deadlock inside wait()
        while not stop.is_set() and not signalled:
            stop.wait(0.2)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        server.close()
    return Outcome.SUCCESS
