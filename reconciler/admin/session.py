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
from collections.abc import Iterator
from pathlib import Path

from reconciler.admin.client import AdminClient
from reconciler.config import Connection

DEFAULT_LOCAL_DB = Path(".reconciler") / "local-admin.db"


@contextlib.contextmanager
def open_admin(connection: Connection, **client_options: object) -> Iterator[AdminClient]:
    if not connection.is_local:
        with AdminClient(connection, **client_options) as client:  # type: ignore[arg-type]
            yield client
        return
    from reconciler.localadmin import LocalAdmin

    db = connection.local_db or DEFAULT_LOCAL_DB
    db.parent.mkdir(parents=True, exist_ok=True)
    with LocalAdmin(db=db, data_dir=db.parent / f"{db.stem}-data") as local:
        direct = dataclasses.replace(
            connection, endpoint=local.endpoint, insecure=True, auth_type=None
        )
        with AdminClient(direct, **client_options) as client:  # type: ignore[arg-type]
            yield client
