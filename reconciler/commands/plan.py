"""``reconciler plan``: what apply would do, per resource and field."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

from reconciler.commands import Outcome
from reconciler.commands.reconcile_common import AdminOptions, compute_plan, terminal
from reconciler.plan.model import Plan
from reconciler.render.plan import render_json, render_markdown, render_text

PlanFormat = Literal["text", "json", "markdown"]


@dataclass(frozen=True)
class PlanOptions:
    admin: AdminOptions
    output: PlanFormat = "text"
    out_file: Path | None = None
    detailed_exitcode: bool = False


def run_plan(options: PlanOptions, environ: Mapping[str, str], out: TextIO) -> Outcome:
    planned = compute_plan(options.admin, environ, terminal())
    render(planned.plan, options.output, out, verbose=options.admin.verbose)
    if options.out_file is not None:
        save(planned.plan, options.out_file)
    if not options.detailed_exitcode:
        return Outcome.SUCCESS
    # A conflict outranks the changes beside it: CI must tell "needs apply" from "apply will
    # refuse" (apply still makes the other changes, but exits 1 for the conflicts).
    if planned.plan.conflicts:
        return Outcome.CONFLICT
    return Outcome.CHANGES if planned.plan.has_changes else Outcome.SUCCESS


def render(plan: Plan, output: str, out: TextIO, *, verbose: bool) -> None:
    if output == "json":
        render_json(plan, out)
    elif output == "markdown":
        render_markdown(plan, out)
    else:
        render_text(plan, out, verbose=verbose)


def save(plan: Plan, path: Path) -> None:
    """Write the plan file whole or not at all, with the content of its uploads (apply reads
    nothing but the plan), which printed plans leave out."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as handle:
        handle.write(plan.dumps(payloads=True))
    os.replace(handle.name, path)
