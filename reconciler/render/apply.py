"""What ``apply`` prints after the plan: a line per change as it is applied, the summary and the
failures; with ``--wait``, the runs it follows (a line per phase change in a log, or on a
terminal a table redrawn in place) and how that ended. On a terminal, a progress bar while the
changes are applied. The command decides what to show and when; these functions print it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import click

from reconciler.apply.run import Result, failures
from reconciler.apply.wait import RunState, Waited


@dataclass(frozen=True)
class ApplyReport:
    """What an apply did: one result per change it was given (conflicts, refused, first)."""

    results: tuple[Result, ...]

    @property
    def failed(self) -> tuple[Result, ...]:
        return tuple(failures(self.results))

    @property
    def done(self) -> int:
        return len(self.results) - len(self.failed)

    @property
    def found(self) -> int:
        """How many changes found (part of) their work already done in Admin."""
        return sum(1 for result in self.results if result.ok and result.found)

    @property
    def launched(self) -> tuple[Any, ...]:
        """The ids of the executions the apply started, in the order of the results."""
        return tuple(ident for result in self.results for ident in result.launched)


def render_result(result: Result, out: TextIO) -> None:
    """One change, as soon as it has been applied (or refused)."""
    mark = click.style("ok", fg="green") if result.ok else click.style("failed", fg="red")
    line = f"{mark} {result.change.address}: {result.message}"
    if result.url:
        line += f"\n    {result.url}"
    click.echo(line, file=out)


def render_summary(report: ApplyReport, out: TextIO) -> None:
    failed = report.failed
    click.echo(
        click.style(
            f"Apply: {report.done} done, {len(failed)} failed.",
            bold=True,
            fg="red" if failed else "green",
        ),
        file=out,
    )
    if report.found:
        click.echo(
            f"  {report.found} of them found (part of) their work already done in Admin (each "
            "line says by whom)",
            file=out,
        )
    for result in failed:
        click.echo(f"  failed: {result.change.address}: {result.message}", file=out)


def render_cancelled(out: TextIO) -> None:
    click.echo("Apply cancelled; nothing was changed.", file=out)


def render_waiting(runs: int, timeout: float, out: TextIO) -> None:
    """The start of ``--wait``."""
    click.echo(f"Waiting for {runs} run(s) (at most {timeout:.0f}s)...", file=out)


def render_phase(state: RunState, out: TextIO) -> None:
    """A run's phase, in a log: the command calls it when the phase changes."""
    click.echo(f"  {state.name}: {state.phase}", file=out)


def render_waited(waited: Waited, out: TextIO) -> None:
    """How ``--wait`` ended: the runs that failed, and those it gave up on."""
    for state in waited.failed:
        click.echo(f"  failed: {state.name} {state.phase}: {state.error}".rstrip(": "), file=out)
    if not waited.finished:
        pending = ", ".join(s.name for s in waited.pending)
        click.echo(f"  timed out waiting for {pending}", file=out)


@contextlib.contextmanager
def live_table(stream: TextIO) -> Iterator[Callable[[list[RunState]], None]]:
    """A table of the runs and their phases, redrawn in place on ``stream`` (a terminal) with
    each call of what this yields, and gone when done."""
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    def table(states: list[RunState]) -> Table:
        view = Table("run", "phase", "error", title="apply --wait")
        for state in states:
            view.add_row(state.name, state.phase, state.error)
        return view

    with Live(table([]), console=Console(file=stream), transient=True) as live:
        yield lambda states: live.update(table(states))


@contextlib.contextmanager
def progress_bar(total: int, stream: TextIO) -> Iterator[Callable[[], None]]:
    """A bar of ``total`` changes on ``stream`` (a terminal), moved on by each call of what this
    yields, and gone when done."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("applying"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(file=stream),
        transient=True,
    ) as progress:
        task = progress.add_task("apply", total=total)
        yield lambda: progress.advance(task)
