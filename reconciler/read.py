"""Read what Admin has for the resources the manifests name, in few round trips.

Per project/domain: one filtered, paged ``ListLaunchPlans`` per 100 launch plan names the
manifests mention (all versions), one filtered ``ListExecutions`` per 100 execution names, and
one ``ListActiveLaunchPlans`` (to see what ``--prune`` may touch). Workflows (for their
interfaces) are read one ``GetWorkflow`` per distinct id, concurrently. No per-manifest loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from itertools import islice
from typing import Any, cast

from flyteidl.admin import common_pb2, execution_pb2, launch_plan_pb2, workflow_pb2
from flyteidl.core import identifier_pb2
from flyteidl.service import dataproxy_pb2

from reconciler.admin import filters
from reconciler.admin.client import AdminClient, fetch_all
from reconciler.errors import NotFound
from reconciler.shard import Shard

ProjectDomain = tuple[str, str]
EntityKey = tuple[str, str, str]  # project, domain, name
VersionedKey = tuple[str, str, str, str]  # project, domain, name, version
RegisteredKey = tuple[str, str, str, str, str]  # kind, project, domain, name, version
NAMES_PER_CALL = 100
# One more than the names asked for: Admin sends a next-page token only after a full page, so
# a chunk of names that has at most one match each (executions; launch plans with one version)
# comes back in one call, where a page of exactly 100 would cost a second, empty one.
PAGE_PER_CALL = NAMES_PER_CALL + 1


@dataclass(frozen=True)
class Needs:
    """What to read, derived from the desired resources."""

    launch_plans: frozenset[EntityKey] = frozenset()
    executions: frozenset[EntityKey] = frozenset()
    workflows: frozenset[VersionedKey] = frozenset()
    prune_scopes: frozenset[ProjectDomain] = frozenset()
    signals: frozenset[EntityKey] = frozenset()  # executions whose signals to list
    registered: frozenset[RegisteredKey] = frozenset()  # tasks, workflows, launch plans to get
    uploads: frozenset[tuple[str, str, str, str, bytes]] = frozenset()
    """(project, domain, filename_root, filename, md5) of uploads whose location to ask: code
    tarballs (root: their digest) and local files given as inputs (root: their MD5)"""
    execution_inputs: frozenset[EntityKey] = frozenset()
    """Executions whose inputs to read (those a plan shows as conflicts, to show the diff)"""
    prune_everywhere: bool = False
    """List every project/domain's active launch plans (``--prune``: this tree's owner marker
    may be in scopes that no manifest names any more)"""
    shard: Shard | None = None
    """With ``prune_everywhere``: only the project/domains this replica owns"""

    def __bool__(self) -> bool:
        # whether anything is to be read (the shard only narrows what is)
        return any(bool(getattr(self, f.name)) for f in fields(self) if f.name != "shard")


@dataclass
class Actual:
    """Admin's state for the needed resources; absent keys were not found."""

    launch_plans: dict[EntityKey, list[Any]] = field(default_factory=dict)  # all versions
    executions: dict[EntityKey, Any] = field(default_factory=dict)
    workflows: dict[VersionedKey, Any] = field(default_factory=dict)
    active_in_scope: dict[ProjectDomain, list[Any]] = field(default_factory=dict)
    signals: dict[EntityKey, list[Any]] = field(default_factory=dict)  # by execution
    registered: dict[RegisteredKey, Any] = field(default_factory=dict)
    upload_urls: dict[tuple[str, str, str, str], str] = field(default_factory=dict)
    """Native URLs of the ``Needs.uploads`` by (project, domain, filename_root, filename)"""
    execution_inputs: dict[EntityKey, Any] = field(default_factory=dict)  # LiteralMap

    def launch_plan(self, key: EntityKey, version: str) -> Any | None:
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

    def signal(self, execution: EntityKey, signal_id: str) -> Any | None:
        found = self.signals.get(execution, [])
        return next((s for s in found if s.id.signal_id == signal_id), None)

    def active_launch_plan(self, key: EntityKey) -> Any | None:
        return next(
            (
                lp
                for lp in self.launch_plans.get(key, [])
                if lp.closure.state == launch_plan_pb2.ACTIVE
            ),
            None,
        )


def _jobs(client: AdminClient, needs: Needs) -> list[tuple[str, Any]]:
    """The reads ``needs`` asks for, batched."""
    jobs: list[tuple[str, Any]] = []
    for (project, domain), names in _group(needs.launch_plans).items():
        # Admin's filter grammar has no escaping: a name holding one of its delimiters is read
        # by name (every version of it) instead of in a batch
        for chunk in _chunks([n for n in names if filters.expressible(n)]):
            jobs.append(("lp", (project, domain, chunk)))
        for name in names:
            if not filters.expressible(name):
                jobs.append(("lp-named", (project, domain, name)))
    for (project, domain), names in _group(needs.executions).items():
        for chunk in _chunks(names):
            jobs.append(("ex", (project, domain, chunk)))
    for scope in sorted(needs.prune_scopes):
        jobs.append(("active", scope))
    for workflow in sorted(needs.workflows):
        jobs.append(("wf", workflow))
    for execution in sorted(needs.signals):
        jobs.append(("sig", execution))
    for registered in sorted(needs.registered):
        jobs.append(("get", registered))
    for upload in sorted(needs.uploads):
        jobs.append(("upload", upload))
    for execution in sorted(needs.execution_inputs):
        jobs.append(("inputs", execution))
    if needs.prune_everywhere:
        listed = {scope for kind, scope in jobs if kind == "active"}
        for project in client.list_projects():
            for domain in project.domains:
                owned = needs.shard is None or needs.shard.owns(project.id, domain.id)
                if owned and (project.id, domain.id) not in listed:
                    jobs.append(("active", (project.id, domain.id)))
    return jobs


def fetch_actual(client: AdminClient, needs: Needs, *, parallelism: int = 8) -> Actual:
    actual = Actual()
    jobs = _jobs(client, needs)

    def run(job: tuple[str, Any]) -> tuple[str, Any, Any]:
        kind, args = job
        if kind == "lp":
            project, domain, names = args
            found = client.list_launch_plans(
                project, domain, filters=filters.value_in("name", names), page_size=PAGE_PER_CALL
            )
            return kind, args, list(found)
        if kind == "lp-named":
            return "lp", args, list(client.list_launch_plans(*args))
        if kind == "ex":
            project, domain, names = args
            found = client.list_executions(
                project, domain, filters=filters.value_in("name", names), page_size=PAGE_PER_CALL
            )
            return kind, args, list(found)
        if kind == "active":
            return kind, args, list(client.list_active_launch_plans(*args))
        if kind == "sig":
            return kind, args, _list_signals(client, args)
        if kind == "get":
            return kind, args, _get_entity(client, args)
        if kind == "inputs":
            return kind, args, _get_inputs(client, args)
        if kind == "upload":
            project, domain, root, filename, md5 = args
            location = client.call(
                "CreateUploadLocation",
                dataproxy_pb2.CreateUploadLocationRequest(
                    project=project,
                    domain=domain,
                    filename=filename,
                    filename_root=root,
                    content_md5=md5,
                ),
                service="data_proxy",
            )
            return kind, args, location.native_url
        return kind, args, _get_workflow(client, args)

    for kind, args, result in fetch_all(run, jobs, parallelism=parallelism):
        if kind == "lp":
            for lp in result:
                key = (lp.id.project, lp.id.domain, lp.id.name)
                actual.launch_plans.setdefault(key, []).append(lp)
        elif kind == "ex":
            for execution in result:
                key = (execution.id.project, execution.id.domain, execution.id.name)
                actual.executions[key] = execution
        elif kind == "active":
            actual.active_in_scope[args] = result
        elif kind == "sig":
            actual.signals[args] = result
        elif kind == "get":
            if result is not None:
                actual.registered[args] = result
        elif kind == "upload":
            actual.upload_urls[args[:4]] = result
        elif kind == "inputs":
            if result is not None:
                actual.execution_inputs[args] = result
        elif result is not None:
            actual.workflows[args] = result
    return actual


def _get_workflow(client: AdminClient, key: VersionedKey) -> workflow_pb2.Workflow | None:
    project, domain, name, version = key
    request = common_pb2.ObjectGetRequest(
        id=identifier_pb2.Identifier(
            resource_type=identifier_pb2.WORKFLOW,
            project=project,
            domain=domain,
            name=name,
            version=version,
        )
    )
    try:
        return cast(workflow_pb2.Workflow, client.call("GetWorkflow", request))
    except NotFound:
        return None


_GETS = {
    "task": ("GetTask", identifier_pb2.TASK),
    "workflow": ("GetWorkflow", identifier_pb2.WORKFLOW),
    "launch_plan": ("GetLaunchPlan", identifier_pb2.LAUNCH_PLAN),
}


def _get_entity(client: AdminClient, key: RegisteredKey) -> Any | None:
    kind, project, domain, name, version = key
    method, resource = _GETS[kind]
    request = common_pb2.ObjectGetRequest(
        id=identifier_pb2.Identifier(
            resource_type=resource, project=project, domain=domain, name=name, version=version
        )
    )
    try:
        return client.call(method, request)
    except NotFound:
        return None


def _get_inputs(client: AdminClient, key: EntityKey) -> Any | None:
    project, domain, name = key
    request = execution_pb2.WorkflowExecutionGetDataRequest(
        id=identifier_pb2.WorkflowExecutionIdentifier(project=project, domain=domain, name=name)
    )
    try:
        return client.call("GetExecutionData", request).full_inputs
    except NotFound:
        return None


def _list_signals(client: AdminClient, key: EntityKey) -> list[Any]:
    project, domain, name = key
    execution = identifier_pb2.WorkflowExecutionIdentifier(
        project=project, domain=domain, name=name
    )
    try:
        return list(client.list_signals(execution))
    except NotFound:
        return []  # no such execution yet: no signals either


def _group(keys: Iterable[EntityKey]) -> Mapping[ProjectDomain, list[str]]:
    grouped: dict[ProjectDomain, list[str]] = {}
    for project, domain, name in sorted(keys):
        grouped.setdefault((project, domain), []).append(name)
    return grouped


def _chunks(names: Sequence[str]) -> Iterable[list[str]]:
    iterator = iter(names)
    while chunk := list(islice(iterator, NAMES_PER_CALL)):
        yield chunk
