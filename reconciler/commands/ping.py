"""``reconciler ping``: check that Admin can be reached and authenticated to, with the settings
every other command would use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from reconciler.admin.session import open_admin
from reconciler.commands import Outcome
from reconciler.commands.reconcile_common import terminal
from reconciler.config import ConnectionFlags, resolve_connection
from reconciler.manifests.load import load_settings
from reconciler.render.ping import PingReport, render_text


@dataclass(frozen=True)
class PingOptions:
    root: Path
    flags: ConnectionFlags
    environment: str | None = None
    verbose: bool = False


def run_ping(options: PingOptions, environ: dict[str, str], out: TextIO, err: TextIO) -> Outcome:
    settings, settings_file = load_settings(options.root, options.environment)
    connection = resolve_connection(options.flags, settings, environ)
    if options.verbose:
        err.write(f"settings file: {settings_file or 'none'}\n")
        for line in connection.describe():
            err.write(f"  {line}\n")
    person = terminal()
    with open_admin(connection, interactive=person.interactive, notify=person.say) as client:
        report = PingReport(
            connection.endpoint, client.get_version(), tuple(p.id for p in client.list_projects())
        )
    render_text(report, out)
    return Outcome.SUCCESS
