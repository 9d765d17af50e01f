"""``reconciler apply``: make Admin match git, from the manifests or from a saved plan."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import click

from reconciler.admin.client import AdminClient
from reconciler.apply.run import Result, apply_plan, failures
from reconciler.apply.stale import stale_addresses
from reconciler.apply.wait import RunState, wait_for
from reconciler.commands import Outcome
from reconciler.commands.reconcile_common import AdminOptions, compute_plan, connected
from reconciler.config import Settings
from reconciler.errors import ConfigError, ReconcilerError, UsageError
from reconciler.manifests.load import load_settings
from reconciler.manifests.source import settings_root_at
from reconciler.plan.model import Plan
from reconciler.render.plan import render_text


@dataclass(frozen=True)
class ApplyOptions:
    admin: AdminOptions
    plan_file: Path | None = None
    auto_approve: bool = False
    parallelism: int | None = None
    wait: bool = False
    timeout: float = 3600.0


def run_apply(
    options: ApplyOptions,
    environ: Mapping[str, str],
    out: TextIO,
    *,
    interactive: bool | None = None,
) -> Outcome:
    at_terminal = sys.stdin.isatty() if interactive is None else interactive
    if options.plan_file is not None:
        if options.admin.ref is not None:
            raise UsageError("--ref reads manifests; a saved plan already records its source")
        plan, settings = _saved(options, environ)
    else:
        planned = compute_plan(options.admin, environ)
        plan, settings = planned.plan, planned.settings
    render_text(plan, out, verbose=options.admin.verbose)
    if not any(c.action.writes for c in plan.changes) and not plan.conflicts:
        return Outcome.SUCCESS
    if not options.auto_approve:
        if not at_terminal:
            raise UsageError("apply needs --auto-approve when not run at a terminal")
        answer = click.prompt(
            "Apply these changes? Only 'yes' is accepted", default="", show_default=False
        )
        if answer.strip() != "yes":
            click.echo("Apply cancelled; nothing was changed.", file=out)
            return Outcome.FAILURE
    with connected(settings, options.admin.flags, environ) as (client, connection):
        if options.plan_file is not None:
            recorded = plan.metadata.get("endpoint")
            if recorded and recorded != connection.endpoint:
                raise ConfigError(
                    f"the plan was made against {recorded}, not {connection.endpoint}; "
                    "plan again against this endpoint"
                )
            stale = stale_addresses(plan, client, parallelism=settings.parallelism)
            if stale:
                raise ReconcilerError(
                    "the saved plan is stale: Admin changed since it was made "
                    f"({', '.join(stale)}); run plan again"
                )
        total = sum(1 for c in plan.changes if c.action.writes) + len(plan.conflicts)
        with _progress(out, total) as advance:

            def report(result: Result) -> None:
                _report(result, out)
                advance()

            results = apply_plan(
                plan,
                client,
                parallelism=options.parallelism or settings.parallelism,
                console=connection.console_endpoint,
                on_result=report,
            )
        failed = failures(results)
        done = len(results) - len(failed)
        click.echo(
            click.style(
                f"Apply: {done} done, {len(failed)} failed.",
                bold=True,
                fg="red" if failed else "green",
            ),
            file=out,
        )
        found = sum(1 for result in results if result.ok and result.found)
        if found:
            click.echo(
                f"  {found} of them found (part of) their work already done in Admin (each "
                "line says by whom)",
                file=out,
            )
        for result in failed:
            click.echo(f"  failed: {result.change.address}: {result.message}", file=out)
        launched = [ident for result in results for ident in result.launched]
        # Waiting happens on the same connection (and, with --endpoint local, the same local
        # Admin, whose engine moves the runs on meanwhile).
        if options.wait and launched and not _waited(options, client, launched, out):
            return Outcome.FAILURE
    return Outcome.FAILURE if failed else Outcome.SUCCESS


def _waited(options: ApplyOptions, client: AdminClient, launched: list[Any], out: TextIO) -> bool:
    """Follow the launched runs; whether all of them succeeded in time."""
    seen: dict[str, str] = {}

    def report(states: list[RunState]) -> None:
        for state in states:
            if seen.get(state.name) != state.phase:
                seen[state.name] = state.phase
                click.echo(f"  {state.name}: {state.phase}", file=out)

    click.echo(f"Waiting for {len(launched)} run(s) (at most {options.timeout:.0f}s)...", file=out)
    with _live_table() as show:

        def update(states: list[RunState]) -> None:
            if show is None:
                report(states)  # a log: one line per phase change
            else:
                show(states)  # a terminal: the table redraws in place

        states, finished = wait_for(client, launched, timeout=options.timeout, on_update=update)
    if show is not None:
        report(states)
    bad = [s for s in states if s.done and not s.succeeded]
    for state in bad:
        click.echo(f"  failed: {state.name} {state.phase}: {state.error}".rstrip(": "), file=out)
    if not finished:
        pending = ", ".join(s.name for s in states if not s.done)
        click.echo(f"  timed out waiting for {pending}", file=out)
    return finished and not bad


@contextlib.contextmanager
def _live_table() -> Iterator[Callable[[list[RunState]], None] | None]:
    """On a terminal, a table of the runs and their phases redrawn in place (on stderr); None
    elsewhere, where phase changes are logged line by line instead."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    def table(states: list[RunState]) -> Table:
        view = Table("run", "phase", "error", title="apply --wait")
        for state in states:
            view.add_row(state.name, state.phase, state.error)
        return view

    with Live(table([]), console=Console(stderr=True), transient=True) as live:
        yield lambda states: live.update(table(states))


@contextlib.contextmanager
def _progress(out: TextIO, total: int) -> Iterator[Callable[[], None]]:
    """A progress bar on a terminal (on stderr, so that stdout stays a clean log); nothing
    elsewhere."""
    if not sys.stderr.isatty() or total < 2:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("applying"), BarColumn(), MofNCompleteColumn(), transient=True
    ) as progress:
        task = progress.add_task("apply", total=total)
        yield lambda: progress.advance(task)


def _report(result: Result, out: TextIO) -> None:
    mark = click.style("ok", fg="green") if result.ok else click.style("failed", fg="red")
    line = f"{mark} {result.change.address}: {result.message}"
    if result.url:
        line += f"\n    {result.url}"
    click.echo(line, file=out)


def _saved(options: ApplyOptions, environ: Mapping[str, str]) -> tuple[Plan, Settings]:
    assert options.plan_file is not None
    try:
        data = json.loads(options.plan_file.read_text("utf-8"))
        plan = Plan.from_json(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"cannot read the plan file {options.plan_file}: {exc}") from exc
    root = plan.metadata.get("root")
    environment = options.admin.environment or plan.metadata.get("environment")
    named = environment if isinstance(environment, str) else None
    settings = Settings()
    if isinstance(root, str) and plan.source is not None and plan.source.ref is not None:
        # made with --ref: reconciler.yaml as it was at that commit, as the plan read it
        with settings_root_at(plan.source, Path(root)) as at_commit:
            if at_commit is not None:
                return plan, load_settings(at_commit, named)[0]
    if isinstance(root, str) and Path(root).is_dir():
        settings, _ = load_settings(Path(root), named)
    return plan, settings
