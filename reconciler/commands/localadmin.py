"""``reconciler local-admin serve``: run the local FlyteAdmin until SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from reconciler.commands import Outcome
from reconciler.errors import UsageError


@dataclass(frozen=True)
class ServeOptions:
    db: Path | None = None
    port: int = 0
    scheduler: bool = False
    data_dir: Path | None = None
    task_seconds: float = 2.0


def run_serve(options: ServeOptions, out: TextIO, stop: threading.Event | None = None) -> Outcome:
    """Serve until ``stop`` is set, or until SIGTERM/SIGINT when called from the main thread."""
    from reconciler.localadmin import LocalAdmin, StoreError

    stop = stop or threading.Event()
    data_dir = options.data_dir
    if data_dir is None and options.db is not None:
        # blobs and simulated outputs live next to the database so that they survive restarts
        data_dir = options.db.with_name(options.db.name + ".data")
    try:
        admin = LocalAdmin(
            db=options.db,
            port=options.port,
            data_dir=data_dir,
            scheduler=options.scheduler,
            task_seconds=options.task_seconds,
        )
    except StoreError as exc:
        raise UsageError(str(exc)) from exc
    except (OSError, RuntimeError) as exc:
        raise UsageError(f"cannot serve on 127.0.0.1:{options.port}: {exc}") from exc
    signalled: list[int] = []
    restore = _stop_on_signals(signalled)
    try:
        with admin:
            where = str(options.db) if options.db else "in memory (lost on exit)"
            out.write(f"local Admin listening on {admin.endpoint}\n")
            out.write(f"database: {where}; data: {admin.data_dir}\n")
            out.write(f"try: reconciler plan DIR --endpoint {admin.endpoint} --insecure\n")
            out.flush()
            # Poll instead of letting the handler set the Event: Event.set() from a signal
            # handler can deadlock on the Event's lock when the signal lands inside wait().
            while not stop.is_set() and not signalled:
                stop.wait(0.2)
            out.write("stopping\n")
    finally:
        restore()
    return Outcome.SUCCESS


def _stop_on_signals(signalled: list[int]) -> _Restore:
    """Record SIGTERM/SIGINT in ``signalled`` (lock-free, so safe in a handler)."""
    if threading.current_thread() is not threading.main_thread():
        return _Restore({})
    previous: dict[signal.Signals, Any] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, lambda number, _frame: signalled.append(number))
    return _Restore(previous)


class _Restore:
    def __init__(self, previous: dict[signal.Signals, Any]) -> None:
        self.previous = previous

    def __call__(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
