"""Which version of a task, workflow or launch plan a manifest runs: one rule for every kind.

- the version the manifest writes, when it writes one;
- else, for a task or a workflow: the version a Registration manifest of the same tree gives
  it (``version: auto`` included: its version is known once its package is read);
- else, for a launch plan: the version this plan declares active, else the version active in
  Admin, unless this plan declares that very version inactive (it deactivates it, so no version
  would be active once applied, and the next plan would find none).

``None`` when none of these gives one (each caller says why in its own terms). Before Admin is
read (``needs``) only the first two apply: pass no ``planning``.
"""

from __future__ import annotations

from typing import Any

from reconciler.kinds.base import Desired, Planning
from reconciler.packages import EntityKind
from reconciler.read import EntityKey


def version_to_run(
    what: EntityKind,
    key: EntityKey,
    written: str | None,
    desired: Desired,
    planning: Planning | None = None,
) -> str | None:
    if written is not None:
        return written
    if what != "launch_plan":
        return _registered(desired, what, key)
    if planning is None:
        return None
    declared = planning.launch_plans.get(key)
    if declared is not None and declared.active:
        return declared.version
    active = planning.actual.active_launch_plan(key)
    if active is None or (declared is not None and declared.version == active.id.version):
        return None
    return str(active.id.version)


def _registered(desired: Desired, what: EntityKind, key: EntityKey) -> str | None:
    project, domain, name = key
    for registration in desired.registrations.values():
        if (registration.project, registration.domain) != (project, domain):
            continue
        if any(e.kind == what and e.name == name for e in registration.package.entities):
            return registration.version
    return None


def registered_task(desired: Desired, key: EntityKey, version: str) -> Any | None:
    """The TaskSpec a Registration of this plan registers under ``key`` at ``version``, for
    executions of a task registered in the same plan."""
    project, domain, name = key
    for registration in desired.registrations.values():
        if (registration.project, registration.domain, registration.version) != (
            project,
            domain,
            version,
        ):
            continue
        for entity in registration.package.entities:
            if entity.kind == "task" and entity.name == name:
                return entity.spec
    return None
