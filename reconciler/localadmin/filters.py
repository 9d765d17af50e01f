"""FlyteAdmin's list-filter grammar, translated to parameterized SQL for :mod:`store`.

Grammar (``flyteadmin/pkg/manager/impl/util/filters.go``, ``pkg/common/filters.go``)::

    filters := term ("+" term)*          # AND only
    term    := fn "(" field "," " "? value (";" value)* ")"
    fn      := eq | ne | gt | gte | lt | lte | contains | not_like | value_in | value_not_in
    field   := [entity "."] column       # entity: execution, launch_plan, workflow, task, ...

``value_in``/``value_not_in`` take several ``;``-separated values, the others exactly one.
A field must be a known column of an entity the listed entity may join (Admin's
``allowedJoinEntities``); anything else is ``INVALID_ARGUMENT`` with Admin's wording. Columns
reached through a join in Admin are denormalized columns of the listed table here, and
``execution_tag``/``admin_tag`` become an ``EXISTS`` over the tag table. Values are always bound
parameters, never interpolated. Timestamps take RFC 3339 (use ``Z``: a ``+`` would split the
filter, as it does in Admin) and durations take seconds or Go duration strings.

Paging: the token is a decimal offset, a next token is returned only when the page is full, and
``limit`` must be positive (``validation.ValidateLimit``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flyteidl.admin import common_pb2

from reconciler.localadmin.errors import invalid

if TYPE_CHECKING:
    from reconciler.localadmin.store import Row, Store

# Admin's regex is `(.+)\((.+),\s?(.+)\)`: one optional space after the comma is dropped.
_TERM = re.compile(r"^\s*(\w+)\(([^,()]+),\s?(.+)\)\s*$")

SINGLE_VALUE = {
    "eq": "{} = ?",
    "ne": "{} <> ?",
    "gt": "{} > ?",
    "gte": "{} >= ?",
    "lt": "{} < ?",
    "lte": "{} <= ?",
    "contains": "{} LIKE ?",
    "not_like": "{} NOT LIKE ?",
}
REPEATED_VALUE = {"value_in": "{} IN ({})", "value_not_in": "{} NOT IN ({})"}

_TIME_COLUMNS = {"created_at", "updated_at", "started_at"}
_DURATION_COLUMNS = {"duration"}

_ID = {"project": "project", "domain": "domain", "name": "name"}
_TIMES = {"created_at": "created_at", "updated_at": "updated_at"}
_RUN = {"phase": "phase", "started_at": "started_at", "duration": "duration", **_TIMES}
_TAG = "__tag__"  # marker: the column lives in execution_tags

# entity -> filter entity prefix -> filter column -> SQL column of the listed table
ENTITY_FIELDS: dict[str, dict[str, dict[str, str]]] = {
    "execution": {
        "execution": {
            # Admin's columns are execution_project/_domain/_name; project/domain/name are
            # accepted in filters as aliases (common/filters.go customizeField)
            **_ID,
            "execution_project": "project",
            "execution_domain": "domain",
            "execution_name": "name",
            **_RUN,
            "execution_created_at": "created_at",
            "execution_updated_at": "updated_at",
            "state": "state",
            "mode": "mode",
            "user": "user",
            "error_code": "error_code",
            "error_kind": "error_kind",
            "launch_entity": "launch_entity",
        },
        "launch_plan": {
            "project": "launch_plan_project",
            "domain": "launch_plan_domain",
            "name": "launch_plan_name",
            "version": "launch_plan_version",
        },
        "workflow": {
            "project": "workflow_project",
            "domain": "workflow_domain",
            "name": "workflow_name",
            "version": "workflow_version",
        },
        "task": {"name": "task_name", "version": "task_version"},
        "execution_tag": {"key": _TAG + "key", "value": _TAG + "value"},
        # admin_tag.name is Admin's old spelling of execution_tag.key (common/filters.go)
        "admin_tag": {"name": _TAG + "key", "key": _TAG + "key", "value": _TAG + "value"},
    },
    "launch_plan": {
        "launch_plan": {
            **_ID,
            **_TIMES,
            "version": "version",
            "state": "state",
            "schedule_type": "schedule_type",
        },
        "workflow": {"name": "workflow_name", "version": "workflow_version"},
    },
    "workflow": {"workflow": {**_ID, **_TIMES, "version": "version"}},
    "task": {"task": {**_ID, **_TIMES, "version": "version"}},
    "node_execution": {
        "node_execution": {
            **_RUN,
            "node_id": "node_id",
            "node_execution_created_at": "created_at",
            "node_execution_updated_at": "updated_at",
        },
        "execution": {"project": "project", "domain": "domain", "name": "execution_name"},
    },
    "task_execution": {
        "task_execution": {
            **_RUN,
            "retry_attempt": "retry_attempt",
            "task_execution_created_at": "created_at",
            "task_execution_updated_at": "updated_at",
        },
        "task": {
            "project": "task_project",
            "domain": "task_domain",
            "name": "task_name",
            "version": "task_version",
        },
        "node_execution": {"node_id": "node_id"},
        "execution": {"project": "project", "domain": "domain", "name": "execution_name"},
    },
    "project": {
        "project": {"identifier": "identifier", "name": "name", "state": "state", **_TIMES}
    },
    "signal": {"signal": {"signal_id": "signal_id", **_TIMES}},
    # named entities are a join of the names of one table (alias entities) with their metadata
    # (alias m); a missing metadata row means state ACTIVE (named_entity_manager.go COALESCE).
    # CAST gives the expression integer affinity so that the text value "1" compares as 1.
    "named_entity": {
        "named_entity": {
            "project": "entities.project",
            "domain": "entities.domain",
            "name": "entities.name",
            "description": "m.description",
            "state": "CAST(COALESCE(m.state, 0) AS INTEGER)",
        }
    },
}


@dataclass
class Where:
    """ANDed SQL fragments with their parameters, plus the columns the request filtered on."""

    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    columns: set[str] = field(default_factory=set)

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(params)


def parse_filters(entity: str, expression: str, where: Where | None = None) -> Where:
    """Translate Admin's filter string for listing ``entity``; raises INVALID_ARGUMENT."""
    where = where if where is not None else Where()
    if not expression.strip():
        return where
    for term in expression.split("+"):
        match = _TERM.match(term)
        if match is None:
            # Admin's wording for a term that does not look like fn(field,value)
            raise invalid(f"invalid value for filters: {term!r} is not of the form fn(field,value)")
        function, raw_field, raw_value = match.group(1), match.group(2).strip(), match.group(3)
        column = _column(entity, raw_field)
        values = raw_value.split(";")
        values = [_prepare(column, v) for v in values]
        if function in SINGLE_VALUE:
            if len(values) != 1:
                raise invalid(f"invalid single value filter expression: {function}")
            value = values[0]
            if function == "contains":
                value = f"%{value}%"
            clause = SINGLE_VALUE[function]
            _add(where, entity, column, clause, [value])
        elif function in REPEATED_VALUE:
            marks = ", ".join("?" for _ in values)
            _add(
                where,
                entity,
                column,
                REPEATED_VALUE[function].replace("({})", f"({marks})"),
                values,
            )
        else:
            raise invalid(f"unrecognized filter function: {function}")
    return where


def _column(entity: str, raw_field: str) -> str:
    prefixes = ENTITY_FIELDS[entity]
    prefix, _, name = raw_field.rpartition(".")
    if not prefix:
        prefix = entity
    if prefix not in prefixes:
        raise invalid(f"'{prefix}' entity is not allowed in filters")
    column = prefixes[prefix].get(name)
    if column is None:
        raise invalid(f"'{prefix}.{name}' is invalid filter")
    return column


def _add(where: Where, entity: str, column: str, template: str, values: list[Any]) -> None:
    if column.startswith(_TAG):
        tag_column = column.removeprefix(_TAG)
        inner = template.replace("{}", f"t.{tag_column}", 1)
        where.add(
            "EXISTS (SELECT 1 FROM execution_tags t WHERE t.project = executions.project "
            "AND t.domain = executions.domain AND t.execution_name = executions.name "
            f"AND {inner})",
            *values,
        )
    else:
        where.add(template.replace("{}", column, 1), *values)
    where.columns.add(column)


def _prepare(column: str, value: str) -> Any:
    if column in _TIME_COLUMNS:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise invalid(f"Timestamp {value} must conform to RFC3339 Nano spec") from None
    if column in _DURATION_COLUMNS:
        return parse_duration(value)
    return value


_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str) -> float:
    """Seconds from ``12.5`` or a Go duration such as ``1h30m``, as Admin's prepareValues."""
    try:
        return float(value)
    except ValueError:
        pass
    parts = _GO_DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise invalid(f"Failed to parse duration [{value}]")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


# filter aliases that are not columns, so Admin refuses them as sort keys (sorting.go)
_NOT_SORT_KEYS = {"execution": {"project", "domain", "name"}}


def order_by(entity: str, sort: common_pb2.Sort | None, default: str = "seq ASC") -> str:
    """An ORDER BY clause; the key must be a column of the listed entity itself."""
    if sort is None:
        return default
    column = ENTITY_FIELDS[entity][entity].get(sort.key)
    if column is None or sort.key in _NOT_SORT_KEYS.get(entity, set()):
        raise invalid(f"invalid sort key '{sort.key}'")
    direction = "ASC" if sort.direction == common_pb2.Sort.ASCENDING else "DESC"
    return f"{column} {direction}, seq {direction}"


def page(limit: int, token: str) -> int:
    """Validate ``limit`` and return the offset the token encodes."""
    if limit <= 0:
        raise invalid("invalid value for limit: it must be greater than 0")
    if not token:
        return 0
    if not token.isdigit():
        raise invalid(f"invalid pagination token {token}")
    return int(token)


def next_token(offset: int, limit: int, returned: int) -> str:
    """Admin only returns a next token when the page came back full."""
    return str(offset + returned) if returned == limit else ""


def sort_of(request: Any) -> common_pb2.Sort | None:
    """The request's sort, or None when it sets none (an empty key set explicitly is invalid)."""
    return request.sort_by if request.HasField("sort_by") else None


def names_filtered(where: Where, columns: Sequence[str]) -> bool:
    return any(column in where.columns for column in columns)


def select_page(
    store: Store,
    table: str,
    entity: str,
    where: Where,
    request: Any,
    offset: int,
    *,
    sort: common_pb2.Sort | None = None,
    columns: str = "*",
    group_by: str = "",
) -> tuple[list[Row], str]:
    """One page of a List call: ``request``'s limit and sort (or ``sort``) over ``where``,
    from ``offset`` (what :func:`page` decoded), with Admin's next-token rule."""
    rows = store.select(
        table,
        where.clauses,
        where.params,
        order_by=order_by(entity, sort if sort is not None else sort_of(request)),
        limit=request.limit,
        offset=offset,
        columns=columns,
        group_by=group_by,
    )
    return rows, next_token(offset, request.limit, len(rows))
