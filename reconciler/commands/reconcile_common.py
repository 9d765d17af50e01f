"""What the commands that read Admin share: the pipeline from manifests to a plan (which lives
in ``reconciler.pipeline``, for the reconcile loop uses it too; re-exported here), and the
terminal the commands lend it.
"""

from __future__ import annotations

import sys

import click

from reconciler.pipeline import (
    QUIET,
    AdminOptions,
    Planned,
    Terminal,
    compute_plan,
    connected,
    context_for,
    describe_connection,
    load_desired,
    manifest_source,
)

__all__ = [
    "QUIET",
    "AdminOptions",
    "Planned",
    "Terminal",
    "compute_plan",
    "connected",
    "context_for",
    "describe_connection",
    "load_desired",
    "manifest_source",
    "terminal",
]


def terminal() -> Terminal:
    """This process's person: lines for them on stderr (``-v`` notes, where to log in), and an
    interactive login (Pkce, DeviceFlow) only when stdin is a terminal."""
    return Terminal(say=lambda text: click.echo(text, err=True), interactive=sys.stdin.isatty())
