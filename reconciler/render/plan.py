"""Plan renderers: text for terminals and CI logs, JSON for tools, and Markdown for pull request
comments. They print the plan and decide nothing; none prints the content of a file the plan
uploads (the JSON gives its size and MD5: the saved plan of ``plan --out`` alone holds it)."""

from __future__ import annotations

from typing import TextIO

import click

from reconciler.plan.model import Action, Change, Plan
from reconciler.render.fields import created_fields, value_text

_COLOURS = {
    "+": "green",
    "~": "yellow",
    "-": "red",
    "!": "red",
    "?": "cyan",
    " ": None,
}
# Summary wording, in the order the summary line lists the actions.
_SUMMARY = (
    (Action.CREATE, "to create"),
    (Action.UPDATE, "to update"),
    (Action.DEACTIVATE, "to deactivate"),
    (Action.DELETE, "to delete"),
    (Action.TERMINATE, "to terminate"),
    (Action.RECOVER, "to recover"),
    (Action.RELAUNCH, "to relaunch"),
    (Action.SET, "to set"),
    (Action.CONFLICT, "in conflict"),
    (Action.WAIT, "waiting"),
    (Action.NOOP, "unchanged"),
)


def summary_line(plan: Plan) -> str:
    counts = plan.summary
    parts = [f"{counts[a.value]} {words}" for a, words in _SUMMARY if counts[a.value]]
    return "Plan: " + (", ".join(parts) if parts else "nothing to do") + "."


def source_line(plan: Plan) -> str:
    """One line saying which commit the manifests come from (DESIGN.md, "Git as the source")."""
    source = plan.source
    if source is None:
        return "Source: not in a git repository (no commit recorded)"
    if source.ref is not None:
        return f"Source: {source.repo} at {source.short} (--ref {source.ref})"
    if source.dirty:
        return (
            f"Source: {source.repo} working tree, HEAD {source.short} with uncommitted changes "
            f"to the manifests (runs are labelled {source.label})"
        )
    return f"Source: {source.repo} working tree, HEAD {source.short}"


def render_text(plan: Plan, out: TextIO, *, verbose: bool = False) -> None:
    shown = [c for c in plan.changes if verbose or c.action is not Action.NOOP]
    click.echo(source_line(plan), file=out)
    if not plan.has_changes:
        message = "No changes: Admin matches the manifests"
        if plan.summary[Action.WAIT.value]:
            message += " (some wait on their runs)"
        click.echo(click.style(message + ".", fg="green"), file=out)
    for change in shown:
        _text_change(change, out)
    click.echo(click.style(summary_line(plan), bold=True), file=out)


def _text_change(change: Change, out: TextIO) -> None:
    marker = change.action.marker
    colour = _COLOURS[marker]
    head = f"{marker} {change.address}  ({change.action.value})"
    click.echo(click.style(head, fg=colour, bold=True), file=out)
    if change.reason:
        click.echo(f"    {change.reason}", file=out)
    for field in created_fields(change):
        click.echo(click.style(f"    {field.path}: {value_text(field.after)}", fg=colour), file=out)
    for field in change.diff:
        line = f"    {field.path}: {value_text(field.before)} -> {value_text(field.after)}"
        click.echo(click.style(line, fg=colour), file=out)


def render_json(plan: Plan, out: TextIO) -> None:
    out.write(plan.dumps())


def render_markdown(plan: Plan, out: TextIO) -> None:
    out.write("### Flyte reconciler plan\n\n")
    out.write(f"{_markdown_source(plan)}\n\n")
    if not plan.has_changes:
        out.write("No changes: Admin matches the manifests.\n\n")
    changed = [c for c in plan.changes if c.action is not Action.NOOP]
    if changed:
        out.write("| | resource | action | why |\n|---|---|---|---|\n")
        for change in changed:
            reason = change.reason.replace("|", "\\|").replace("\n", " ")
            out.write(
                f"| `{change.action.marker}` | `{change.address}` | {change.action.value} "
                f"| {reason} |\n"
            )
        out.write("\n")
        for change in changed:
            if change.diff:
                out.write(f"<details><summary><code>{change.address}</code></summary>\n\n")
                out.write("```diff\n")
                for field in change.diff:
                    out.write(f"- {field.path}: {value_text(field.before)}\n")
                    out.write(f"+ {field.path}: {value_text(field.after)}\n")
                out.write("```\n\n</details>\n\n")
    out.write(f"**{summary_line(plan)}**\n")


def _markdown_source(plan: Plan) -> str:
    source = plan.source
    if source is None:
        return "Source: not in a git repository (no commit recorded)"
    where = f"`{source.repo}` at `{source.short}`"
    if source.ref is not None:
        return f"Source: {where} (`--ref {source.ref}`)"
    if source.dirty:
        return (
            f"Source: {where} (working tree) **with uncommitted changes to the manifests** "
            f"(runs are labelled `{source.label}`)"
        )
    return f"Source: {where} (working tree)"
