"""Open an ``AdminClient`` for a resolved connection, starting the in-process local Admin
first when the endpoint is ``local[:DBFILE]``.

The local Admin keeps its state in a SQLite file (``.reconciler/local-admin.db`` under the
working directory unless a file is named), so that ``plan``, ``apply`` and ``plan`` again in
separate processes see one Admin, as they would see a real one. Its engine runs on the wall
clock while a command runs and catches up on the next start.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Iterator
from pathlib import Path

from reconciler.admin.client import AdminClient, Notice
from reconciler.config import Connection

DEFAULT_LOCAL_DB = Path(".reconciler") / "local-admin.db"
LOCAL_TASK_SECONDS = 0.2
SETTLE_SECONDS = 3.0


@contextlib.contextmanager
def open_admin(
    connection: Connection,
    *,
    projects: Iterable[str] = (),
    interactive: bool = False,
    notify: Notice | None = None,
) -> Iterator[AdminClient]:
    """``projects``: for the in-process local Admin only, projects to create when missing; it is
    a sandbox for trying manifests out, so the projects they name are made for them (a real
    Admin's projects are created by its operators). ``interactive`` and ``notify``: the
    client's, for a login that needs a person."""
    if not connection.is_local:
        with AdminClient(connection, interactive=interactive, notify=notify) as client:
            yield client
        return
    from reconciler.localadmin import LocalAdmin

    db = connection.local_db or DEFAULT_LOCAL_DB
    db.parent.mkdir(parents=True, exist_ok=True)
    # Quick simulated tasks: a command sees runs move between one invocation and the next.
    with LocalAdmin(
        db=db, data_dir=db.parent / f"{db.stem}-data", task_seconds=LOCAL_TASK_SECONDS
    ) as local:
        local.ensure_projects(projects)
        # what the last command started and falls due within a few seconds happens first
        local.settle(SETTLE_SECONDS)
        direct = dataclasses.replace(
            connection, endpoint=local.endpoint, insecure=True, auth_type=None
        )
        with AdminClient(direct, interactive=interactive, notify=notify) as client:
            yield client
