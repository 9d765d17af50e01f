"""``reconciler reconcile``: the GitOps loop (see ``reconciler/loop/``).

The loop runs on a thread of its own; this thread serves signals. The first SIGTERM or SIGINT
stops new passes and new operations, lets those in flight finish (for at most
``--shutdown-timeout``), writes the state file and returns (exit 0); a second one leaves at once
through ``exit_now`` (exit 130). ``--once`` runs one pass and returns what ``drift`` would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import NoReturn, TextIO
from urllib.parse import urlsplit

import click

from reconciler.commands import Outcome
from reconciler.commands.reconcile_common import terminal
from reconciler.errors import ConfigError, UsageError
from reconciler.loop.http import DEFAULT_LISTEN, Server
from reconciler.loop.notify import Sender
from reconciler.loop.runner import Loop, LoopOptions
from reconciler.loop.source import GitSource, LocalSource, Source
from reconciler.loop.state import PassResult, read_state_file

NOTIFY_DRAIN_SECONDS = 5.0
DEFAULT_CACHE = Path(".reconciler") / "repos"


@dataclass(frozen=True)
class GitOptions:
    """``--repo URL --branch B [--path DIR]``: the source instead of PATHS."""

    repo: str | None = None
    branch: str | None = None
    path: Path | None = None
    cache: Path = DEFAULT_CACHE


@dataclass(frozen=True)
class ReconcileOptions:
    loop: LoopOptions
    once: bool = False
    listen: str = DEFAULT_LISTEN
    notify: tuple[str, ...] = ()
    webhook_secret_env: str | None = None
    shutdown_timeout: float = 30.0
    git: GitOptions = field(default_factory=GitOptions)


def run_reconcile(
    options: ReconcileOptions,
    environ: Mapping[str, str],
    out: TextIO,
    err: TextIO,
    *,
    exit_now: Callable[[Outcome | None], NoReturn],
) -> Outcome:
    """``exit_now(outcome)`` ends the process at once, threads in flight or not (None: the
    exit code of an interrupt)."""
    loop_options = options.loop
    if loop_options.interval <= 0:
        raise UsageError("--interval must be more than 0")
    for url in options.notify:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise UsageError("--notify takes an http(s) URL")
    if options.webhook_secret_env:
        secret = environ.get(options.webhook_secret_env)
        if not secret:
            raise ConfigError(
                f"--webhook-secret-env {options.webhook_secret_env}: that variable is not set"
            )
        loop_options = dataclasses.replace(loop_options, webhook_secret=secret)
    state_file = loop_options.state_file
    restored = read_state_file(state_file) if state_file is not None else None
    sender = Sender(options.notify, on_error=lambda message: click.echo(message, file=err))
    source = _source(options.git, loop_options.admin.paths)
    loop = Loop(
        loop_options,
        source,
        environ,
        out=out,
        err=err,
        sender=sender,
        restored=restored,
        terminal=terminal(),
    )
    server = None if options.once else Server(options.listen, loop, loop).start()
    click.echo(_banner(options, loop_options, source, server), file=err)
    worker = threading.Thread(
        target=loop.run, kwargs={"once": options.once}, name="reconcile", daemon=True
    )
    try:
        with _signals(loop, err, options.shutdown_timeout, exit_now) as stopped:
            worker.start()
            finished = _wait(worker, loop, options.shutdown_timeout)
            loop.save()
            if not finished:
                click.echo(
                    f"shutdown: operations still in flight after {options.shutdown_timeout:g}s; "
                    "leaving them (apply is idempotent: the next pass finishes the work)",
                    file=err,
                )
                sender.close(1.0)
                exit_now(Outcome.SUCCESS)
            sender.close(NOTIFY_DRAIN_SECONDS)
    finally:
        if server is not None:
            server.close()
    if stopped.is_set():
        click.echo("stopped", file=err)
        return Outcome.SUCCESS
    if not options.once:
        return Outcome.SUCCESS
    report = loop.last_report
    if report is None or report.result in (PassResult.ERROR, PassResult.FAILED):
        if report is not None and report.error:
            click.echo(f"error: {report.error}", file=err)
        return Outcome.FAILURE
    return Outcome.CHANGES if report.result is PassResult.DRIFTED else Outcome.SUCCESS


def _wait(worker: threading.Thread, loop: Loop, timeout: float) -> bool:
    """Until the loop ends; once it is stopping, for at most ``timeout`` more seconds. Joins in
    short steps so that signal handlers run on this thread meanwhile."""
    deadline: float | None = None
    while worker.is_alive():
        worker.join(0.1)
        if loop.stopping.is_set():
            deadline = deadline or time.monotonic() + timeout
            if time.monotonic() >= deadline:
                return not worker.is_alive()
    return True


@contextlib.contextmanager
def _signals(
    loop: Loop, err: TextIO, timeout: float, exit_now: Callable[[Outcome | None], NoReturn]
) -> Iterator[threading.Event]:
    """SIGTERM and SIGINT handlers for the duration (only the main thread may set them)."""
    stopped = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stopped
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stopped.is_set():
            click.echo(f"{name} again: exiting now", file=err)
            exit_now(None)
        stopped.set()
        click.echo(
            f"{name}: stopping; operations in flight may finish for {timeout:g}s "
            "(signal again to exit at once)",
            file=err,
        )
        loop.stop()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stopped
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _source(git: GitOptions, paths: tuple[Path, ...]) -> Source:
    if git.repo is None:
        if git.branch is not None or git.path is not None:
            raise UsageError("--branch and --path go with --repo")
        if not paths:
            raise UsageError("give manifest PATHS or --repo URL --branch B (one of them)")
        return LocalSource(paths)
    if paths:
        raise UsageError("give manifest PATHS or --repo URL --branch B (one of them)")
    if not git.branch:
        raise UsageError("--repo needs --branch: the branch whose tip is reconciled")
    return GitSource(git.repo, git.branch, git.path or Path("."), git.cache)


def _banner(
    options: ReconcileOptions, loop: LoopOptions, source: Source, server: Server | None
) -> str:
    described = source.describe()
    if "repo" in described:
        paths = f"{described['repo']} {described['branch']}:{described['path']}"
    else:
        paths = " ".join(str(p) for p in loop.admin.paths)
    mode = "self-heal" if loop.self_heal else "report only"
    if options.once:
        return f"reconcile {paths}: one pass, {mode}"
    text = f"reconcile {paths}: every {loop.interval:g}s (jitter {loop.jitter:g}), {mode}"
    if server is not None:
        text += f"; listening on {server.url}"
    return text
