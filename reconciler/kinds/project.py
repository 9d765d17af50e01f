"""Plan ``kind: Project``: register a project, or update its description, labels and state.

Admin has no delete for projects (ADMIN-SEMANTICS.md): archiving is ``state: archived``, an
``UpdateProject``, and a project removed from git is left alone. ``UpdateProject`` replaces
every field, so the request carries the display name Admin has and the owner marker the project
carries (``reconciler.flyte.org/owner``, see ``reconciler.kinds.attributes``): the marker is not
part of the manifest's labels, is never removed, and is left out of the diff.
"""

from __future__ import annotations

from typing import Any

from flyteidl.admin import project_pb2

from reconciler.kinds.base import Desired, Kind, Pair, Planning
from reconciler.manifests.attributes import AttributesManifest
from reconciler.manifests.load import Manifest
from reconciler.manifests.project import ProjectManifest
from reconciler.manifests.resolve import Resolved
from reconciler.plan.calls import operation
from reconciler.plan.common import OWNER_KEY, PROVENANCE_KEYS, Context, digest, normalized
from reconciler.plan.diff import diff
from reconciler.plan.model import Action, Change
from reconciler.read import Actual, Needs, Observed

_STATES = {
    "active": project_pb2.Project.ACTIVE,
    "archived": project_pb2.Project.ARCHIVED,
}
_NAMES = {
    project_pb2.Project.ACTIVE: "active",
    project_pb2.Project.ARCHIVED: "archived",
    project_pb2.Project.SYSTEM_GENERATED: "systemGenerated",
}


def name_of(manifest: Manifest[ProjectManifest]) -> str:
    return manifest.model.metadata.name


def _needs(item: Resolved[ProjectManifest], desired: Desired, context: Context) -> Needs:
    return Needs(projects=frozenset({name_of(item.manifest)}))


def _pair(
    item: Resolved[ProjectManifest], planning: Planning
) -> Pair[ProjectManifest, project_pb2.Project]:
    """Keyed by the project id; Admin's side is the project GetProject returned."""
    name = name_of(item.manifest)
    return Pair(name, item, planning.actual.projects.get(name))


def _plan(pair: Pair[ProjectManifest, project_pb2.Project], planning: Planning) -> Change:
    assert pair.desired is not None  # projects are never pruned
    claimed = {
        item.manifest.model.metadata.project
        for item in planning.desired.resolved
        if isinstance(item.manifest.model, AttributesManifest)
    }
    return plan(
        pair.desired.manifest, planning.actual, planning.context, claims=pair.key in claimed
    )


def view(project: project_pb2.Project) -> dict[str, Any]:
    """A project in manifest terms, without the labels the reconciler writes."""
    labels = {k: v for k, v in project.labels.values.items() if k not in PROVENANCE_KEYS}
    return {
        "description": project.description,
        "labels": labels,
        "state": _NAMES.get(project.state, str(project.state)),
    }


def observed(actual: Actual, name: str) -> Observed:
    found = actual.projects.get(name)
    return {
        "projects": [name],
        "digest": digest(normalized(found) if found is not None else None),
    }


def _recheck(observed_: Observed) -> Needs | None:
    if "projects" not in observed_:
        return None
    return Needs(projects=frozenset(observed_["projects"]))


def _digests(actual: Actual, observed_: Observed) -> tuple[str, ...]:
    [name] = observed_["projects"]
    return (str(observed(actual, name)["digest"]),)


def plan(
    manifest: Manifest[ProjectManifest], actual: Actual, context: Context, *, claims: bool
) -> Change:
    """``claims``: this tree manages attributes in the project, so the project carries its
    owner marker."""
    model = manifest.model
    name = model.metadata.name
    spec = model.spec
    wanted = {"description": spec.description, "labels": dict(spec.labels), "state": spec.state}
    marker = {OWNER_KEY: context.owner_id} if claims and context.owner_id else {}
    found = actual.projects.get(name)
    seen = observed(actual, name)
    if found is None:
        project = project_pb2.Project(
            id=name,
            name=name,
            description=spec.description,
            labels={"values": {**spec.labels, **marker}},
            state=_STATES[spec.state],
        )
        request = project_pb2.ProjectRegisterRequest(project=project)
        return Change(
            manifest.address,
            Action.CREATE,
            None,
            wanted,
            reason=f"project {name} is not registered in Admin",
            operations=(operation(request),),
            observed=seen,
        )
    now = view(found)
    kept = {k: v for k, v in found.labels.values.items() if k in PROVENANCE_KEYS}
    labels = {**kept, **spec.labels, **marker}
    if now == wanted and dict(found.labels.values) == labels:
        return Change(manifest.address, Action.NOOP, now, wanted, observed=seen)
    project = project_pb2.Project(
        id=name,
        name=found.name or name,
        description=spec.description,
        labels={"values": labels},
        state=_STATES[spec.state],
    )
    changed = diff({"spec": now}, {"spec": wanted})
    if not changed:
        reason = f"project {name} gets this tree's owner marker"
    elif now["state"] != spec.state:
        reason = "archive the project" if spec.state == "archived" else "restore the project"
    else:
        reason = "the project differs from git"
    return Change(
        manifest.address,
        Action.UPDATE,
        now,
        wanted,
        diff=changed,
        reason=reason,
        operations=(operation(project),),
        observed=seen,
    )


KIND = Kind(
    model=ProjectManifest,
    needs=_needs,
    pair=_pair,
    plan=_plan,
    recheck=_recheck,
    digests=_digests,
)
