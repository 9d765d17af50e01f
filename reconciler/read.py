"""Read what Admin has for the resources the manifests name, in few round trips.

Per project/domain: one filtered, paged list of launch plans per 100 launch plan names the
manifests mention (all versions), one filtered list of executions per 100 execution names, and
the active launch plans (to see what ``--prune`` may touch). Workflows (for their interfaces)
are read one get per distinct id, concurrently. Projects are read one get each, matchable
attributes one get per level and type, or one list per type where a level's own row is needed
(see ``reconciler.kinds.attributes``). No per-manifest loop. Everything goes through the
``Admin`` interface (``reconciler.admin.api``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from itertools import islice
from typing import Any, Generic, TypedDict, TypeVar

from flyteidl.admin import (
    execution_pb2,
    launch_plan_pb2,
    matchable_resource_pb2,
    project_pb2,
    signal_pb2,
    task_pb2,
    workflow_pb2,
)
from flyteidl.core import identifier_pb2, literals_pb2
from flyteidl.service import dataproxy_pb2

from reconciler.admin.api import NAMES_PER_CALL, Admin, AttributesAnswer, ExecutionId
from reconciler.admin.client import fetch_all
from reconciler.errors import InvalidArgument, NotFound
from reconciler.shard import Shard

ProjectDomain = tuple[str, str]
EntityKey = tuple[str, str, str]  # project, domain, name
VersionedKey = tuple[str, str, str, str]  # project, domain, name, version
RegisteredKey = tuple[str, str, str, str, str]  # kind, project, domain, name, version
Upload = tuple[str, str, str, str, bytes]  # project, domain, filename_root, filename, md5
AttributesKey = tuple[str, str, str, str]  # project, domain, workflow ("" unset), resource type
LaunchPlan = launch_plan_pb2.LaunchPlan
Registered = task_pb2.Task | workflow_pb2.Workflow | launch_plan_pb2.LaunchPlan
_K = TypeVar("_K")


class Observed(TypedDict, total=False):
    """What a change was planned against, as its plan records it: the keys its kind read (as
    JSON lists) and a digest of what Admin had under them. ``apply --plan`` reads the keys again
    (each kind's ``recheck``) and refuses the change when the digest differs. A saved plan is
    read back from a file, so the kinds make each part of a key a ``str`` again."""

    projects: list[str]
    attributes: list[list[str]]  # project, domain, workflow ("" unset)
    lists: list[str]  # matchable attribute types read as whole lists
    registered: list[list[str]]  # RegisteredKey
    launch_plans: list[list[str]]  # EntityKey
    executions: list[list[str]]  # EntityKey
    signals: list[list[str]]  # EntityKey and the signal id
    digest: str


@dataclass(frozen=True)
class Needs:
    """What to read, derived from the desired resources."""

    launch_plans: frozenset[EntityKey] = frozenset()
    executions: frozenset[EntityKey] = frozenset()
    workflows: frozenset[VersionedKey] = frozenset()
    prune_scopes: frozenset[ProjectDomain] = frozenset()
    signals: frozenset[EntityKey] = frozenset()  # executions whose signals to list
    registered: frozenset[RegisteredKey] = frozenset()  # tasks, workflows, launch plans to get
    uploads: frozenset[Upload] = frozenset()
    """(project, domain, filename_root, filename, md5) of uploads whose location to ask: code
    tarballs (root: their digest) and local files given as inputs (root: their MD5)"""
    execution_inputs: frozenset[EntityKey] = frozenset()
    """Executions whose inputs to read (those a plan shows as conflicts, to show the diff)"""
    projects: frozenset[str] = frozenset()  # projects to get
    attributes: frozenset[AttributesKey] = frozenset()  # matchable attributes to get
    attribute_lists: frozenset[str] = frozenset()
    """Resource types (``MatchableResource`` names) whose every row to list"""
    prune_everywhere: bool = False
    """List every project/domain's active launch plans, every project and every matchable
    attributes row (``--prune``: this tree's owner marker may be in scopes that no manifest
    names any more)"""
    shard: Shard | None = None
    """With ``prune_everywhere``: only the project/domains this replica owns"""

    def __bool__(self) -> bool:
        # whether anything is to be read (the shard only narrows what is)
        return any(bool(getattr(self, f.name)) for f in fields(self) if f.name != "shard")


@dataclass
class Actual:
    """Admin's state for the needed resources; absent keys were not found."""

    launch_plans: dict[EntityKey, list[LaunchPlan]] = field(default_factory=dict)  # all versions
    executions: dict[EntityKey, execution_pb2.Execution] = field(default_factory=dict)
    workflows: dict[VersionedKey, workflow_pb2.Workflow] = field(default_factory=dict)
    active_in_scope: dict[ProjectDomain, list[LaunchPlan]] = field(default_factory=dict)
    signals: dict[EntityKey, list[signal_pb2.Signal]] = field(default_factory=dict)  # by execution
    registered: dict[RegisteredKey, Registered] = field(default_factory=dict)
    upload_urls: dict[tuple[str, str, str, str], str] = field(default_factory=dict)
    """Native URLs of the ``Needs.uploads`` by (project, domain, filename_root, filename)"""
    execution_inputs: dict[EntityKey, literals_pb2.LiteralMap] = field(default_factory=dict)
    projects: dict[str, project_pb2.Project] = field(default_factory=dict)  # absent: none
    attributes: dict[AttributesKey, AttributesAnswer | Unreadable] = field(default_factory=dict)
    """What each get answered, at the level found (absent: NOT_FOUND)"""
    attribute_rows: dict[str, list[AttributesAnswer]] = field(default_factory=dict)
    """Every row of each listed resource type"""
    all_projects: list[project_pb2.Project] | None = None
    """Every project (``--prune``)"""

    def launch_plan(self, key: EntityKey, version: str) -> LaunchPlan | None:
        return next((lp for lp in self.launch_plans.get(key, []) if lp.id.version == version), None)

    def merge(self, other: Actual) -> None:
        """Add what a follow-up read found."""
        for key, plans in other.launch_plans.items():
            self.launch_plans.setdefault(key, []).extend(plans)
        self.executions.update(other.executions)
        self.workflows.update(other.workflows)
        self.active_in_scope.update(other.active_in_scope)
        self.signals.update(other.signals)
        self.registered.update(other.registered)
        self.upload_urls.update(other.upload_urls)
        self.execution_inputs.update(other.execution_inputs)
        self.projects.update(other.projects)
        self.attributes.update(other.attributes)
        self.attribute_rows.update(other.attribute_rows)
        if other.all_projects is not None:
            self.all_projects = other.all_projects

    def signal(self, execution: EntityKey, signal_id: str) -> signal_pb2.Signal | None:
        found = self.signals.get(execution, [])
        return next((s for s in found if s.id.signal_id == signal_id), None)

    def active_launch_plan(self, key: EntityKey) -> LaunchPlan | None:
        return next(
            (
                lp
                for lp in self.launch_plans.get(key, [])
                if lp.closure.state == launch_plan_pb2.ACTIVE
            ),
            None,
        )


@dataclass(frozen=True)
class Unreadable:
    """A read Admin refused with INVALID_ARGUMENT: the project is not registered or not active,
    or the domain is unknown (validation/project_validator.go). The planner decides whether
    that is an error (it is not for a project this plan registers)."""

    message: str


_T = TypeVar("_T")
_Kept = Callable[[Actual], None]


@dataclass(frozen=True)
class _Read(Generic[_T]):
    """One read: what to ask Admin, and where in ``Actual`` the answer goes. Reads run
    concurrently; their answers are kept in the order the reads were listed."""

    fetch: Callable[[Admin], _T]
    keep: Callable[[Actual, _T], None]

    def run(self, admin: Admin) -> _Kept:
        found = self.fetch(admin)
        return lambda actual: self.keep(actual, found)


def _reads(admin: Admin, needs: Needs) -> list[_Read[Any]]:
    """The reads ``needs`` asks for, batched."""
    reads: list[_Read[Any]] = []
    for (project, domain), names in _group(needs.launch_plans).items():
        for chunk in _chunks(names):
            reads.append(_launch_plans(project, domain, chunk))
    for (project, domain), names in _group(needs.executions).items():
        for chunk in _chunks(names):
            reads.append(_executions(project, domain, chunk))
    scopes = set(needs.prune_scopes)
    lists = set(needs.attribute_lists)
    if needs.prune_everywhere:
        projects = admin.list_projects()
        reads.append(_Read(lambda admin: projects, _keep_projects))
        # every matchable attributes row: which an owned project holds is the Attributes
        # kind's to decide (QUALITY_OF_SERVICE_SPECIFICATION is no type it manages)
        lists |= {
            name
            for name, _ in matchable_resource_pb2.MatchableResource.items()
            if name != "QUALITY_OF_SERVICE_SPECIFICATION"
        }
        for project in projects:
            for domain in project.domains:
                if needs.shard is None or needs.shard.owns(project.id, domain.id):
                    scopes.add((project.id, domain.id))
    reads.extend(_active(scope) for scope in sorted(scopes))
    reads.extend(_workflow(key) for key in sorted(needs.workflows))
    reads.extend(_signals(key) for key in sorted(needs.signals))
    reads.extend(_registered(key) for key in sorted(needs.registered))
    reads.extend(_upload_url(key) for key in sorted(needs.uploads))
    reads.extend(_inputs(key) for key in sorted(needs.execution_inputs))
    reads.extend(_project(name) for name in sorted(needs.projects))
    reads.extend(_attributes(key) for key in sorted(needs.attributes))
    reads.extend(_attribute_rows(name) for name in sorted(lists))
    return reads


def _keep_projects(actual: Actual, found: list[project_pb2.Project]) -> None:
    actual.all_projects = found


def _project(name: str) -> _Read[project_pb2.Project | None]:
    def keep(actual: Actual, found: project_pb2.Project | None) -> None:
        if found is not None:
            actual.projects[name] = found

    return _Read(lambda admin: _unless_absent(admin.get_project, name), keep)


def _attributes(key: AttributesKey) -> _Read[AttributesAnswer | Unreadable | None]:
    def keep(actual: Actual, found: AttributesAnswer | Unreadable | None) -> None:
        if found is not None:
            actual.attributes[key] = found

    project, domain, workflow, type_name = key
    resource_type = matchable_resource_pb2.MatchableResource.Value(type_name)

    def fetch(admin: Admin) -> AttributesAnswer | Unreadable | None:
        try:
            return admin.get_attributes(project, domain, workflow, resource_type)
        except NotFound:
            return None
        except InvalidArgument as exc:
            return Unreadable(exc.details)

    return _Read(fetch, keep)


def _attribute_rows(type_name: str) -> _Read[list[AttributesAnswer]]:
    def keep(actual: Actual, found: list[AttributesAnswer]) -> None:
        actual.attribute_rows[type_name] = found

    resource_type = matchable_resource_pb2.MatchableResource.Value(type_name)
    return _Read(lambda admin: admin.list_matchable_attributes(resource_type), keep)


def fetch_actual(admin: Admin, needs: Needs, *, parallelism: int = 8) -> Actual:
    actual = Actual()
    for keep in fetch_all(
        lambda read: read.run(admin), _reads(admin, needs), parallelism=parallelism
    ):
        keep(actual)
    return actual


def _launch_plans(project: str, domain: str, names: list[str]) -> _Read[list[LaunchPlan]]:
    def keep(actual: Actual, found: list[LaunchPlan]) -> None:
        for lp in found:
            actual.launch_plans.setdefault(_entity(lp.id), []).append(lp)

    return _Read(lambda admin: admin.list_launch_plans(project, domain, names), keep)


def _executions(
    project: str, domain: str, names: list[str]
) -> _Read[list[execution_pb2.Execution]]:
    def keep(actual: Actual, found: list[execution_pb2.Execution]) -> None:
        for execution in found:
            actual.executions[_entity(execution.id)] = execution

    return _Read(lambda admin: admin.list_executions(project, domain, names), keep)


def _active(scope: ProjectDomain) -> _Read[list[LaunchPlan]]:
    def keep(actual: Actual, found: list[LaunchPlan]) -> None:
        actual.active_in_scope[scope] = found

    return _Read(lambda admin: admin.list_active_launch_plans(*scope), keep)


def _workflow(key: VersionedKey) -> _Read[workflow_pb2.Workflow | None]:
    def keep(actual: Actual, found: workflow_pb2.Workflow | None) -> None:
        if found is not None:
            actual.workflows[key] = found

    identifier = _identifier(key)
    return _Read(lambda admin: _unless_absent(admin.get_workflow, identifier), keep)


def _registered(key: RegisteredKey) -> _Read[Registered | None]:
    def keep(actual: Actual, found: Registered | None) -> None:
        if found is not None:
            actual.registered[key] = found

    kind, project, domain, name, version = key
    identifier = _identifier((project, domain, name, version))

    def fetch(admin: Admin) -> Registered | None:
        gets: Mapping[str, Callable[[identifier_pb2.Identifier], Registered]] = {
            "task": admin.get_task,
            "workflow": admin.get_workflow,
            "launch_plan": admin.get_launch_plan,
        }
        return _unless_absent(gets[kind], identifier)

    return _Read(fetch, keep)


def _signals(key: EntityKey) -> _Read[list[signal_pb2.Signal]]:
    def keep(actual: Actual, found: list[signal_pb2.Signal]) -> None:
        actual.signals[key] = found

    def fetch(admin: Admin) -> list[signal_pb2.Signal]:
        try:
            return admin.list_signals(_execution(key))
        except NotFound:
            return []  # no such execution yet: no signals either

    return _Read(fetch, keep)


def _upload_url(key: Upload) -> _Read[str]:
    project, domain, root, filename, md5 = key

    def keep(actual: Actual, found: str) -> None:
        actual.upload_urls[(project, domain, root, filename)] = found

    request = dataproxy_pb2.CreateUploadLocationRequest(
        project=project,
        domain=domain,
        filename=filename,
        filename_root=root,
        content_md5=md5,
    )
    return _Read(lambda admin: str(admin.create_upload_location(request).native_url), keep)


def _inputs(key: EntityKey) -> _Read[literals_pb2.LiteralMap | None]:
    def keep(actual: Actual, found: literals_pb2.LiteralMap | None) -> None:
        if found is not None:
            actual.execution_inputs[key] = found

    def fetch(admin: Admin) -> literals_pb2.LiteralMap | None:
        data = _unless_absent(admin.get_execution_data, _execution(key))
        return data.full_inputs if data is not None else None

    return _Read(fetch, keep)


def _unless_absent(get: Callable[[_K], _T], key: _K) -> _T | None:
    """``get(key)``, or None where Admin has nothing there."""
    try:
        return get(key)
    except NotFound:
        return None


def _identifier(key: VersionedKey) -> identifier_pb2.Identifier:
    """The id of an entity (its resource type is the get's business)."""
    project, domain, name, version = key
    return identifier_pb2.Identifier(project=project, domain=domain, name=name, version=version)


def _execution(key: EntityKey) -> ExecutionId:
    project, domain, name = key
    return ExecutionId(project=project, domain=domain, name=name)


def _entity(identifier: identifier_pb2.Identifier | ExecutionId) -> EntityKey:
    return (identifier.project, identifier.domain, identifier.name)


def _group(keys: Iterable[EntityKey]) -> Mapping[ProjectDomain, list[str]]:
    grouped: dict[ProjectDomain, list[str]] = {}
    for project, domain, name in sorted(keys):
        grouped.setdefault((project, domain), []).append(name)
    return grouped


def _chunks(names: Sequence[str]) -> Iterable[list[str]]:
    iterator = iter(names)
    while chunk := list(islice(iterator, NAMES_PER_CALL)):
        yield chunk
