"""``reconciler apply``: make Admin match git, from the manifests or from a saved plan."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import click

from reconciler.admin.api import Admin
from reconciler.apply.run import Result, apply_plan
from reconciler.apply.stale import stale_addresses
from reconciler.apply.wait import RunState, wait_for
from reconciler.commands import Outcome
from reconciler.commands.reconcile_common import AdminOptions, compute_plan, connected, terminal
from reconciler.config import Settings
from reconciler.errors import ConfigError, ReconcilerError, UsageError
from reconciler.manifests.load import load_settings
from reconciler.manifests.source import settings_root_at
from reconciler.plan.model import Plan
from reconciler.render.apply import (
    ApplyReport,
    live_table,
    progress_bar,
    render_cancelled,
    render_phase,
    render_result,
    render_summary,
    render_waited,
    render_waiting,
)
from reconciler.render.plan import render_text as render_plan


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
    person = terminal()
    if options.plan_file is not None:
        if options.admin.ref is not None:
            raise UsageError("--ref reads manifests; a saved plan already records its source")
        plan, settings = _saved(options, environ)
    else:
        planned = compute_plan(options.admin, environ, person)
        plan, settings = planned.plan, planned.settings
    render_plan(plan, out, verbose=options.admin.verbose)
    if not any(c.action.writes for c in plan.changes) and not plan.conflicts:
        return Outcome.SUCCESS
    if not options.auto_approve:
        if not at_terminal:
            raise UsageError("apply needs --auto-approve when not run at a terminal")
        answer = click.prompt(
            "Apply these changes? Only 'yes' is accepted", default="", show_default=False
        )
        if answer.strip() != "yes":
            render_cancelled(out)
            return Outcome.FAILURE
    session = connected(settings, options.admin.flags, environ, terminal=person)
    with session as (client, connection):
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
        with _progress(total) as advance:

            def applied(result: Result) -> None:
                render_result(result, out)
                advance()

            results = apply_plan(
                plan,
                client,
                parallelism=options.parallelism or settings.parallelism,
                console=connection.console_endpoint,
                on_result=applied,
            )
        report = ApplyReport(tuple(results))
        render_summary(report, out)
        # Waiting happens on the same connection (and, with --endpoint local, the same local
        # Admin, whose engine moves the runs on meanwhile).
        if options.wait and report.launched and not _waited(options, client, report, out):
            return Outcome.FAILURE
    return Outcome.FAILURE if report.failed else Outcome.SUCCESS


def _waited(options: ApplyOptions, client: Admin, report: ApplyReport, out: TextIO) -> bool:
    """Follow the launched runs; whether all of them succeeded in time. In a log, a line per
    phase change; on a terminal, a table redrawn in place (on stderr), then the last phases."""
    seen: dict[str, str] = {}

    def log(states: Sequence[RunState]) -> None:
        for state in states:
            if seen.get(state.name) != state.phase:
                seen[state.name] = state.phase
                render_phase(state, out)

    render_waiting(len(report.launched), options.timeout, out)
    live = live_table(sys.stderr) if sys.stderr.isatty() else None
    with live or contextlib.nullcontext(None) as show:

        def update(states: list[RunState]) -> None:
            if show is None:
                log(states)
            else:
                show(states)

        waited = wait_for(client, report.launched, timeout=options.timeout, on_update=update)
    if show is not None:
        log(waited.states)
    render_waited(waited, out)
    return waited.succeeded


def _progress(total: int) -> contextlib.AbstractContextManager[Callable[[], None]]:
    """A progress bar on a terminal (on stderr, so that stdout stays a clean log); nothing
    elsewhere, or for a single change."""
    if not sys.stderr.isatty() or total < 2:
        return contextlib.nullcontext(lambda: None)
    return progress_bar(total, sys.stderr)


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
