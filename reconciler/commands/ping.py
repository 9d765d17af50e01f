"""``reconciler ping``: check that Admin can be reached and authenticated to, with the settings
every other command would use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from reconciler.admin.session import open_admin
from reconciler.commands import Outcome
from reconciler.config import ConnectionFlags, resolve_connection
from reconciler.manifests.load import load_settings


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
    with open_admin(connection) as client:
        version = client.get_version()
        projects = [p.id for p in client.list_projects()]
    out.write(f"FlyteAdmin at {connection.endpoint}: version {version}\n")
    out.write(f"projects: {', '.join(projects) if projects else '(none visible)'}\n")
    return Outcome.SUCCESS
