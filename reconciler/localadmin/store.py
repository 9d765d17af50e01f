"""SQLite persistence for the local Admin.

Each entity is stored as its serialized flyteidl protobuf (``data``) next to the columns that
filters, sorting and lookups need (project, domain, name, version, phase, state, created_at, ...),
much as FlyteAdmin keeps a model row with a serialized closure (``flyteadmin/pkg/repositories``).
Columns that Admin reaches through SQL joins (``launch_plan.name`` when listing executions) are
stored denormalized on the row instead, so every filter is a plain ``WHERE`` on one table.

Concurrency: one connection, guarded by a re-entrant lock. gRPC worker threads and the engine
ticker all go through :meth:`Store.transaction`, which makes a read-modify-write (activate a launch
plan, deactivate its predecessor) atomic. The database runs in WAL mode when it is a file, and the
``schema_version`` table says which layout a file holds. A file written by an older layout is
brought forward by the steps in ``_MIGRATIONS`` (one per version, in one transaction); a file
written by a newer layout is refused rather than guessed at.

Version history: 1 the first layout; 2 adds ``resources`` (matchable attributes, Admin's
``resources`` table) and ``named_entity_metadata`` (Admin's table of the same name); 3 adds
``executions.resolved``, the fully resolved spec the engine runs with (NULL on older rows, whose
stored spec was the resolved one).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 3

Row = sqlite3.Row

# The first layout's tables, except that ``executions`` has version 3's ``resolved`` column:
# CREATE ... IF NOT EXISTS never changes an existing table, so older files get it from the
# migration step instead.
_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS projects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    identifier TEXT NOT NULL UNIQUE, name TEXT NOT NULL, state INTEGER NOT NULL,
    created_at REAL NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL, domain TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
    created_at REAL NOT NULL, digest TEXT NOT NULL, data BLOB NOT NULL,
    UNIQUE (project, domain, name, version));
CREATE TABLE IF NOT EXISTS workflows (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL, domain TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
    created_at REAL NOT NULL, digest TEXT NOT NULL, data BLOB NOT NULL,
    UNIQUE (project, domain, name, version));
CREATE TABLE IF NOT EXISTS launch_plans (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL, domain TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, state INTEGER NOT NULL,
    schedule_type TEXT NOT NULL, workflow_name TEXT NOT NULL, workflow_version TEXT NOT NULL,
    digest TEXT NOT NULL, data BLOB NOT NULL,
    UNIQUE (project, domain, name, version));
CREATE TABLE IF NOT EXISTS executions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL, domain TEXT NOT NULL, name TEXT NOT NULL,
    phase TEXT NOT NULL, state INTEGER NOT NULL, mode INTEGER NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, started_at REAL, duration REAL NOT NULL,
    launch_plan_project TEXT NOT NULL, launch_plan_domain TEXT NOT NULL,
    launch_plan_name TEXT NOT NULL, launch_plan_version TEXT NOT NULL,
    workflow_project TEXT NOT NULL, workflow_domain TEXT NOT NULL,
    workflow_name TEXT NOT NULL, workflow_version TEXT NOT NULL,
    task_name TEXT NOT NULL, task_version TEXT NOT NULL, launch_entity TEXT NOT NULL,
    user TEXT NOT NULL, error_code TEXT NOT NULL, error_kind TEXT NOT NULL,
    parent_node_id TEXT NOT NULL, parent_execution_name TEXT NOT NULL,
    data BLOB NOT NULL, inputs BLOB NOT NULL, user_inputs BLOB NOT NULL, outputs BLOB,
    resolved BLOB,
    UNIQUE (project, domain, name));
CREATE TABLE IF NOT EXISTS execution_tags (
    project TEXT NOT NULL, domain TEXT NOT NULL, execution_name TEXT NOT NULL,
    key TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS execution_tags_by_execution
    ON execution_tags (project, domain, execution_name);
CREATE TABLE IF NOT EXISTS node_executions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL, domain TEXT NOT NULL, execution_name TEXT NOT NULL,
    node_id TEXT NOT NULL, parent_node_id TEXT NOT NULL, phase TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, started_at REAL, duration REAL NOT NULL,
    data BLOB NOT NULL, inputs BLOB NOT NULL, outputs BLOB,
    UNIQUE (project, domain, execution_name, node_id));
CREATE TABLE IF NOT EXISTS task_executions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL, domain TEXT NOT NULL, execution_name TEXT NOT NULL,
    node_id TEXT NOT NULL, retry_attempt INTEGER NOT NULL,
    task_project TEXT NOT NULL, task_domain TEXT NOT NULL,
    task_name TEXT NOT NULL, task_version TEXT NOT NULL, phase TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, started_at REAL, duration REAL NOT NULL,
    data BLOB NOT NULL, inputs BLOB NOT NULL, outputs BLOB,
    UNIQUE (project, domain, execution_name, node_id, retry_attempt));
CREATE TABLE IF NOT EXISTS signals (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL, domain TEXT NOT NULL, execution_name TEXT NOT NULL,
    signal_id TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    data BLOB NOT NULL,
    UNIQUE (project, domain, execution_name, signal_id));
"""

# Version 2: matchable attributes and named entity metadata.
_TABLES_V2 = """
CREATE TABLE IF NOT EXISTS resources (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL, domain TEXT NOT NULL, workflow TEXT NOT NULL,
    launch_plan TEXT NOT NULL, resource_type TEXT NOT NULL, priority INTEGER NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, attributes BLOB NOT NULL,
    UNIQUE (project, domain, workflow, launch_plan, resource_type));
CREATE TABLE IF NOT EXISTS named_entity_metadata (
    resource_type INTEGER NOT NULL, project TEXT NOT NULL, domain TEXT NOT NULL,
    name TEXT NOT NULL, description TEXT NOT NULL, state INTEGER NOT NULL,
    PRIMARY KEY (resource_type, project, domain, name));
"""

_SCHEMA = _SCHEMA_V1 + _TABLES_V2

# Version 3: the resolved execution spec next to the stored one.
_COLUMNS_V3 = "ALTER TABLE executions ADD COLUMN resolved BLOB"

# version found in a file -> statements that bring it to the next version
_MIGRATIONS: dict[int, str] = {1: _TABLES_V2, 2: _COLUMNS_V3}


class StoreError(Exception):
    """The database file cannot be used by this version of the local Admin."""


class Store:
    """Typed-enough access to the tables above; values are dicts of column -> value."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._depth = 0
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        with self.transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._conn.execute(statement)
            found = self._conn.execute("SELECT version FROM schema_version").fetchall()
            if not found:
                self._conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
                return
            version = found[0][0]
            if version != SCHEMA_VERSION and version not in _MIGRATIONS:
                raise StoreError(
                    f"{self.path} holds schema version {version}, "
                    f"this local Admin reads version {SCHEMA_VERSION}"
                )
            while version < SCHEMA_VERSION:
                # _SCHEMA above already created missing tables; a step is run anyway so that it
                # can also carry what CREATE ... IF NOT EXISTS cannot (new columns, data changes)
                for statement in _MIGRATIONS[version].split(";"):
                    if statement.strip():
                        self._conn.execute(statement)
                version += 1
            self._conn.execute("UPDATE schema_version SET version = ?", (version,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Serialize against every other thread; nested use joins the outer transaction."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._conn.execute("COMMIT")

    # -- generic row access ---------------------------------------------------------------

    def insert(self, table: str, values: Mapping[str, Any]) -> None:
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self.transaction():
            self._conn.execute(
                f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values())
            )

    def update(self, table: str, key: Mapping[str, Any], values: Mapping[str, Any]) -> int:
        assignments = ", ".join(f"{column} = ?" for column in values)
        where, params = _equalities(key)
        with self.transaction():
            cursor = self._conn.execute(
                f"UPDATE {table} SET {assignments} WHERE {where}",
                (*values.values(), *params),
            )
            return cursor.rowcount

    def delete(self, table: str, key: Mapping[str, Any]) -> None:
        where, params = _equalities(key)
        with self.transaction():
            self._conn.execute(f"DELETE FROM {table} WHERE {where}", params)

    def get(self, table: str, key: Mapping[str, Any]) -> Row | None:
        where, params = _equalities(key)
        with self._lock:
            row: Row | None = self._conn.execute(
                f"SELECT * FROM {table} WHERE {where}", params
            ).fetchone()
            return row

    def select(
        self,
        table: str,
        where: Sequence[str] = (),
        params: Sequence[Any] = (),
        *,
        order_by: str = "seq ASC",
        limit: int | None = None,
        offset: int = 0,
        columns: str = "*",
        group_by: str = "",
    ) -> list[Row]:
        """``where`` fragments are ANDed; they come from code (filters.py), never from users."""
        sql = f"SELECT {columns} FROM {table}"
        if where:
            sql += " WHERE " + " AND ".join(f"({w})" for w in where)
        if group_by:
            sql += f" GROUP BY {group_by}"
        sql += f" ORDER BY {order_by}"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params = (*params, limit, offset)
        with self._lock:
            return list(self._conn.execute(sql, tuple(params)).fetchall())


def _equalities(key: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
    return " AND ".join(f"{column} = ?" for column in key), tuple(key.values())
