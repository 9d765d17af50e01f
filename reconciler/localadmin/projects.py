"""Projects: registration, lookup, listing, and the check every other registration makes
against them. This module is the one writer of the ``projects`` table.

The rules follow FlyteAdmin v1.16.8 (ADMIN-SEMANTICS.md; paths in flyteorg/flyte,
``flyteadmin/pkg/``): ``validation/project_validator.go``, with Admin's wording for every error;
domains are set system wide; archived projects refuse registrations
(:meth:`Projects.check_project_domain`). Labels, of projects, launch plans and executions alike,
must be valid Kubernetes labels (:func:`check_labels`).
"""

from __future__ import annotations

import re
from typing import Any

from flyteidl.admin import common_pb2, project_pb2

from reconciler.localadmin import filters
from reconciler.localadmin.clock import Clock
from reconciler.localadmin.errors import already_exists, invalid, not_found
from reconciler.localadmin.protos import missing, parse
from reconciler.localadmin.store import Row, Store

DEFAULT_DOMAINS = ("development", "staging", "production")
DEFAULT_PROJECT = "flytesnacks"


class Projects:
    def __init__(self, store: Store, clock: Clock, domains: tuple[str, ...] = DEFAULT_DOMAINS):
        self.store = store
        self.clock = clock
        self.domains = domains

    def ensure_project(self, identifier: str, name: str | None = None) -> None:
        with self.store.transaction():
            if self.store.get("projects", {"identifier": identifier}) is None:
                self.register_project(project_pb2.Project(id=identifier, name=name or identifier))

    def register_project(self, project: project_pb2.Project) -> None:
        """project_manager.go CreateProject with validation/project_validator.go's rules."""
        if not project.name:
            raise invalid("missing project_name")
        _validate_project(project)
        with self.store.transaction():
            if self.store.get("projects", {"identifier": project.id}) is not None:
                # Admin surfaces the unique-key violation of its projects table
                raise already_exists(f"value with matching already exists (project {project.id})")
            self.store.insert(
                "projects",
                {
                    "identifier": project.id,
                    "name": project.name,
                    "state": project.state,
                    "created_at": self.clock.now(),
                    "data": project.SerializeToString(),
                },
            )

    def _project(self, row: Row) -> project_pb2.Project:
        project = parse(project_pb2.Project, row["data"])
        project.state = row["state"]
        project.domains.extend(project_pb2.Domain(id=d, name=d) for d in self.domains)
        return project

    def get_project(self, identifier: str) -> project_pb2.Project:
        if not identifier:
            raise invalid("missing project_id")
        row = self.store.get("projects", {"identifier": identifier})
        if row is None:
            raise not_found(missing("project", identifier))
        return self._project(row)

    def update_project(self, project: project_pb2.Project) -> None:
        """project_manager.go UpdateProject: must exist, then the same validation as create."""
        with self.store.transaction():
            self.get_project(project.id)
            _validate_project(project)
            self.store.update(
                "projects",
                {"identifier": project.id},
                {"name": project.name, "state": project.state, "data": project.SerializeToString()},
            )

    def list_projects(
        self, limit: int, token: str, filter_text: str, sort: common_pb2.Sort | None
    ) -> tuple[list[project_pb2.Project], str]:
        """project_manager.go ListProjects: no limit means all; without filters archived
        projects are hidden; the default order is by identifier."""
        if token and not token.isdigit():
            raise invalid(f"invalid pagination token {token} for ListProjects")
        offset = int(token or 0)
        where = filters.parse_filters("project", filter_text)
        if not where.clauses:
            where.add("state <> ?", project_pb2.Project.ARCHIVED)
        rows = self.store.select(
            "projects",
            where.clauses,
            where.params,
            order_by=filters.order_by("project", sort, default="identifier ASC"),
            limit=limit or None,
            offset=offset,
        )
        return [self._project(r) for r in rows], filters.next_token(offset, limit, len(rows))

    def labels(self, project: str) -> dict[str, str]:
        """The project's labels (none for an unknown project), which executions inherit."""
        row = self.store.get("projects", {"identifier": project})
        if row is None:
            return {}
        return dict(parse(project_pb2.Project, row["data"]).labels.values)

    def check_project_domain(self, project: str, domain: str) -> None:
        """validation/project_validator.go ValidateProjectAndDomain, messages included."""
        row = self.store.get("projects", {"identifier": project})
        if row is None:
            raise invalid(
                f"failed to validate that project [{project}] and domain [{domain}] are "
                f"registered, err: [{missing('project', project)}]"
            )
        if row["state"] != project_pb2.Project.ACTIVE:
            raise invalid(f"project [{project}] is not active")
        if domain not in self.domains:
            raise invalid(f"domain [{domain}] is unrecognized by system")


_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def check_labels(labels: Any) -> None:
    """Labels become Kubernetes labels, so Admin refuses what Kubernetes would refuse."""
    for key, value in labels.items():
        prefix, _, name = key.rpartition("/")
        valid_key = (
            0 < len(name) <= 63
            and bool(_LABEL_NAME.match(name))
            and (not prefix or (len(prefix) <= 253 and bool(_LABEL_PREFIX.match(prefix))))
        )
        if not valid_key:
            raise invalid(f"invalid label key [{key}]: not a valid Kubernetes label key")
        if value and (len(value) > 63 or not _LABEL_NAME.match(value)):
            raise invalid(f"invalid label value [{value}] for key [{key}]")


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _validate_project(project: project_pb2.Project) -> None:
    if not project.id:
        raise invalid("missing project_id")
    check_labels(project.labels.values)
    if len(project.id) > 63 or not _DNS_LABEL.match(project.id):
        raise invalid(f"invalid project id [{project.id}]: not a DNS-1123 label")
    if len(project.name) > 64:
        raise invalid("project_name cannot exceed 64 characters")
    if len(project.description) > 300:
        raise invalid("project_description cannot exceed 300 characters")
    if project.domains:
        raise invalid(
            "Domains are currently only set system wide. Please retry without domains included "
            "in your request."
        )


# -- helpers -----------------------------------------------------------------------------------
