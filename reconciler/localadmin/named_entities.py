"""Named entities: a task, workflow or launch plan name across all its versions, with metadata.

A named entity exists implicitly once any version of the name is registered; only its metadata
(description, state) is stored, in ``named_entity_metadata``, and read through a left join, so an
entity without a row is ACTIVE with no description. The rules follow FlyteAdmin v1.16.8
(``flyteadmin/pkg/manager/impl/named_entity_manager.go``,
``validation/named_entity_validator.go``, ``repositories/gormimpl/named_entity_repo.go``):

* the resource type must be TASK, WORKFLOW or LAUNCH_PLAN ("invalid value for resource_type" for
  UNSPECIFIED; the other types are refused by the repository); project, domain and name are
  required; an unregistered name is ``NOT_FOUND`` "entry not found", for updates too;
* ``UpdateNamedEntity`` writes description and state. When a metadata row exists already, an
  empty description keeps the stored one: Admin assigns the fields with gorm's struct ``Assign``,
  which skips zero values (read from the code, not confirmed against a running Admin);
* ``ListNamedEntities`` pages over the distinct names of project/domain (``limit`` > 0, token =
  offset) and **then** applies the filters, as Admin's sub-query join does: a page can come back
  shorter than ``limit`` (and so without a next token) although more names match. Without
  filters Admin adds ``not_like(name,.flytegen%)``, hiding the workflows and launch plans it
  generates for single-task executions; filters on ``state`` treat a missing row as ACTIVE
  (``COALESCE(state, 0)``). Sort keys: ``name``, ``project``, ``domain``.
"""

from __future__ import annotations

from typing import Any

from flyteidl.admin import common_pb2
from flyteidl.core import identifier_pb2

from reconciler.localadmin import filters
from reconciler.localadmin.errors import invalid, not_found
from reconciler.localadmin.store import Row, Store

ResourceType = identifier_pb2.ResourceType
NamedEntityState = common_pb2.NamedEntityState

_TABLES = {
    ResourceType.TASK: "tasks",
    ResourceType.WORKFLOW: "workflows",
    ResourceType.LAUNCH_PLAN: "launch_plans",
}
# named_entity_manager.go: the implicit filter when the request has none
SYSTEM_GENERATED_FILTER = "not_like(name,.flytegen%)"
_SORT_KEYS = ("name", "project", "domain")


class NamedEntities:
    def __init__(self, store: Store) -> None:
        self.store = store

    def get(
        self, resource_type: ResourceType, identifier: common_pb2.NamedEntityIdentifier
    ) -> common_pb2.NamedEntity:
        _check_type(resource_type)
        _check_id(identifier)
        table = _table(resource_type, "get")
        rows = self._select(
            table,
            resource_type,
            [identifier.project, identifier.domain],
            inner_where="AND name = ?",
            inner_params=[identifier.name],
        )
        if not rows:
            raise not_found("entry not found")
        return _entity(rows[0], resource_type)

    def update(
        self,
        resource_type: ResourceType,
        identifier: common_pb2.NamedEntityIdentifier,
        metadata: common_pb2.NamedEntityMetadata | None,
    ) -> None:
        _check_type(resource_type)
        _check_id(identifier)
        if metadata is None:
            raise invalid("missing metadata")
        # named_entity_validator.go: of the three kinds, all may be archived
        if metadata.state != NamedEntityState.NAMED_ENTITY_ACTIVE and resource_type not in _TABLES:
            raise invalid(
                f"Resource [{ResourceType.Name(resource_type)}] cannot have its state updated"
            )
        key = {
            "resource_type": resource_type,
            "project": identifier.project,
            "domain": identifier.domain,
            "name": identifier.name,
        }
        with self.store.transaction():
            self.get(resource_type, identifier)  # Admin: the entity must exist first
            if self.store.get("named_entity_metadata", key) is None:
                self.store.insert(
                    "named_entity_metadata",
                    {**key, "description": metadata.description, "state": metadata.state},
                )
                return
            values: dict[str, Any] = {"state": metadata.state}
            if metadata.description:  # gorm's Assign skips a zero-valued description
                values["description"] = metadata.description
            self.store.update("named_entity_metadata", key, values)

    def list_entities(
        self, request: common_pb2.NamedEntityListRequest
    ) -> tuple[list[common_pb2.NamedEntity], str]:
        if not request.project:
            raise invalid("missing project")
        if not request.domain:
            raise invalid("missing domain")
        _check_type(request.resource_type)
        if request.limit <= 0:
            raise invalid("invalid value for limit: it must be greater than 0")
        where = filters.parse_filters("named_entity", request.filters or SYSTEM_GENERATED_FILTER)
        order = "seq ASC"
        sort = filters.sort_of(request)
        if sort is not None:
            if sort.key not in _SORT_KEYS:
                raise invalid(f"invalid sort key '{sort.key}'")
            direction = "ASC" if sort.direction == common_pb2.Sort.ASCENDING else "DESC"
            order = f"{sort.key} {direction}, seq {direction}"
        if request.token and not request.token.isdigit():
            raise invalid(f"invalid pagination token {request.token} for ListNamedEntities")
        offset = int(request.token or 0)
        table = _table(request.resource_type, "list")
        rows = self._select(
            table,
            request.resource_type,
            [request.project, request.domain],
            inner_order=order,
            inner_limit=(request.limit, offset),
            where=where,
        )
        entities = [_entity(r, request.resource_type) for r in rows]
        return entities, filters.next_token(offset, request.limit, len(entities))

    def _select(
        self,
        table: str,
        resource_type: ResourceType,
        scope: list[str],
        *,
        inner_where: str = "",
        inner_params: list[Any] | None = None,
        inner_order: str = "seq ASC",
        inner_limit: tuple[int, int] | None = None,
        where: filters.Where | None = None,
    ) -> list[Row]:
        """Distinct names of ``table`` (ordered, paged) left-joined with their metadata; the
        filters apply to the joined rows, after paging, as in Admin's sub-query join."""
        params: list[Any] = [*scope, *(inner_params or [])]
        paging = ""
        if inner_limit is not None:
            paging = "LIMIT ? OFFSET ?"
            params.extend(inner_limit)
        params.append(resource_type)
        source = (
            "(SELECT project, domain, name, MIN(seq) AS seq FROM "
            f"{table} WHERE project = ? AND domain = ? {inner_where} "
            f"GROUP BY project, domain, name ORDER BY {inner_order} {paging}) AS entities "
            "LEFT JOIN named_entity_metadata AS m ON m.resource_type = ? "
            "AND m.project = entities.project AND m.domain = entities.domain "
            "AND m.name = entities.name"
        )
        where = where or filters.Where()
        return self.store.select(
            source,
            where.clauses,
            [*params, *where.params],
            order_by=f"entities.{inner_order.replace(', seq', ', entities.seq')}",
            columns="entities.project, entities.domain, entities.name, "
            "m.description AS description, COALESCE(m.state, 0) AS state",
        )


def _check_type(resource_type: ResourceType) -> None:
    # validation.go ValidateResourceType
    if resource_type == ResourceType.UNSPECIFIED or resource_type not in ResourceType.values():
        raise invalid("invalid value for resource_type")


def _check_id(identifier: common_pb2.NamedEntityIdentifier) -> None:
    for field_name in ("project", "domain", "name"):
        if not getattr(identifier, field_name):
            raise invalid(f"missing {field_name}")


def _table(resource_type: ResourceType, action: str) -> str:
    table = _TABLES.get(resource_type)
    if table is None:
        # named_entity_repo.go: no table for the other resource types
        what = "get NamedEntityMetadata" if action == "get" else "list entity names"
        raise invalid(f"Cannot {what} for resource type: {ResourceType.Name(resource_type)}")
    return table


def _entity(row: Row, resource_type: ResourceType) -> common_pb2.NamedEntity:
    return common_pb2.NamedEntity(
        resource_type=resource_type,
        id=common_pb2.NamedEntityIdentifier(
            project=row["project"], domain=row["domain"], name=row["name"]
        ),
        metadata=common_pb2.NamedEntityMetadata(
            description=row["description"] or "", state=row["state"]
        ),
    )
