"""What a resource kind is, to the steps that do not care which kind they handle.

A kind is one module of ``reconciler.kinds`` and one entry of its ``KINDS`` table. The entry is
a :class:`Kind`: a frozen dataclass of functions, not a base class to inherit from, because a
kind is a set of answers to the questions the pipeline asks in its order, several of which
most kinds answer with "nothing" (no follow-up read, no run to show); a dataclass with those
defaults says so in one line per kind, and the table stays plain data:

- ``model``: which manifests are of this kind (``Manifest[M]`` once narrowed by :meth:`Kind.of`);
- ``needs`` / ``followups``: what to read from Admin for them, before and after the first read;
- ``pair``: each desired resource with what Admin has under the kind's typed key, and, for a
  kind that prunes, what Admin has that no manifest declares (:class:`Pair`);
- ``plan``: the change for one pair. Each kind module normalizes both sides into the same
  manifest-shaped view, decides from it and shows its diff (see the module docstrings for the
  provenance fields each one shows or ignores);
- ``recheck`` / ``digests``: what ``plan --out`` recorded, read again by ``apply --plan``;
- apply order: its place in ``KINDS``;
- ``runs`` / ``gates``: the runs ``status`` shows for a manifest, and those whose signals
  ``signals`` lists;
- ``held`` / ``held_needs``: what Admin holds where a manifest has ``${env:...}`` references,
  from which ``status`` learns secret values rotated since (``reconciler.redact``), and what to
  read for it besides the runs shown.

What the kinds share while one plan is made is a :class:`Planning`: the desired and actual
state, the launch plans this plan declares (for the executions and backfills that run them)
and the problems found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Generic, TypeVar, cast

from flyteidl.admin import launch_plan_pb2
from flyteidl.core import identifier_pb2

from reconciler.manifests.base import ManifestBase
from reconciler.manifests.files import LocalFile
from reconciler.manifests.manifest import Manifest
from reconciler.manifests.resolve import Resolved
from reconciler.packages import DesiredRegistration
from reconciler.plan.common import Context, Problems
from reconciler.plan.model import Change
from reconciler.read import Actual, EntityKey, Needs, Observed
from reconciler.redact import Held

M = TypeVar("M", bound=ManifestBase)
A = TypeVar("A")  # what Admin has under a kind's key


@dataclass(frozen=True)
class Desired:
    """The manifests to reconcile, references resolved; ``written`` keeps them as in git."""

    resolved: Sequence[Resolved]
    written: Mapping[str, Manifest]
    registrations: Mapping[str, DesiredRegistration] = field(default_factory=dict)
    """Registration manifests with their packages read, by address."""
    files: Mapping[str, Mapping[str, LocalFile]] = field(default_factory=dict)
    """The local files Execution manifests give as inputs, by address, then input name
    (``reconciler.manifests.files``)."""

    def as_written(self, manifest: Manifest[M]) -> Manifest[M]:
        """``manifest`` as git writes it (its references unresolved): the same kind."""
        return cast(Manifest[M], self.written[manifest.address])


@dataclass(frozen=True)
class Declared:
    """A launch plan version this plan declares, as the executions and backfills that run it
    in the same plan see it (apply creates it before them: ``KINDS`` order)."""

    id: identifier_pb2.Identifier
    spec: launch_plan_pb2.LaunchPlanSpec
    active: bool

    @property
    def version(self) -> str:
        return str(self.id.version)


@dataclass
class Planning:
    """What the kinds share while one plan is made. ``actual`` grows by what the
    registrations of the plan will register, and ``launch_plans`` by what the LaunchPlan
    manifests declare, so that the kinds after them in ``KINDS`` see both."""

    desired: Desired
    actual: Actual
    context: Context
    problems: Problems = field(default_factory=Problems)
    launch_plans: dict[EntityKey, Declared] = field(default_factory=dict)


@dataclass(frozen=True)
class Pair(Generic[M, A]):
    """One resource: what git asks for and what Admin has, matched by ``key``; neither side is
    changed by pairing. ``desired`` None: Admin has it and no manifest declares it (a prune
    candidate); ``actual`` None: Admin has nothing under the key."""

    key: Any
    desired: Resolved[M] | None
    actual: A | None


def no_followups(item: Resolved[M], desired: Desired, actual: Actual) -> Needs:
    return Needs()


def no_runs(manifest: Manifest[M]) -> tuple[EntityKey, ...]:
    return ()


def no_orphans(planning: Planning) -> list[Pair[M, A]]:
    return []


def nothing_held(item: Resolved[M], actual: Actual) -> list[Held]:
    return []


def no_needs(item: Resolved[M]) -> Needs:
    return Needs()


@dataclass(frozen=True)
class Kind(Generic[M, A]):
    """One resource kind, as the pipeline sees it (the module docstring says what each function
    answers)."""

    model: type[M]
    needs: Callable[[Resolved[M], Desired, Context], Needs]
    pair: Callable[[Resolved[M], Planning], Pair[M, A]]
    plan: Callable[[Pair[M, A], Planning], Change | None]
    recheck: Callable[[Observed], Needs | None]
    """What to read again to check a saved change; None when it recorded nothing to check."""
    digests: Callable[[Actual, Observed], tuple[str, ...]]
    """The digests of what Admin has now, made as the builds that save plans make them (this
    build's first): a saved change whose digest is none of them is stale."""
    followups: Callable[[Resolved[M], Desired, Actual], Needs] = no_followups
    orphans: Callable[[Planning], list[Pair[M, A]]] = no_orphans
    """Pairs of what Admin has that no manifest declares, once every manifest is planned."""
    runs: Callable[[Manifest[M]], tuple[EntityKey, ...]] = no_runs
    """The runs ``status`` shows for a manifest of this kind."""
    gates: Callable[[Manifest[M]], tuple[EntityKey, ...]] = no_runs
    """The runs whose signals ``signals`` lists for a manifest of this kind."""
    held: Callable[[Resolved[M], Actual], list[Held]] = nothing_held
    """(text as written, value Admin holds) where the manifest has ``${env:...}`` references:
    the values of the apply that sent them (``Redactor.holding``)."""
    held_needs: Callable[[Resolved[M]], Needs] = no_needs
    """What ``held`` needs read, besides the runs ``status`` shows (``runs``)."""

    @property
    def name(self) -> str:
        """The manifests' ``kind``, and the first part of the addresses of this kind."""
        return self.model.KIND

    def holds(self, manifest: Manifest) -> bool:
        return isinstance(manifest.model, self.model)

    def of(self, items: Iterable[Resolved]) -> list[Resolved[M]]:
        """The items whose manifests are of this kind, typed as such."""
        return [cast(Resolved[M], item) for item in items if self.holds(item.manifest)]


def union(needs: Iterable[Needs]) -> Needs:
    """Everything any of ``needs`` asks to read."""
    merged: dict[str, Any] = {}
    for one in needs:
        for f in fields(one):
            value = getattr(one, f.name)
            if f.name not in merged:
                merged[f.name] = value
            elif isinstance(value, frozenset):
                merged[f.name] = merged[f.name] | value
            elif isinstance(value, bool):
                merged[f.name] = merged[f.name] or value
            elif value is not None:
                merged[f.name] = value
    return Needs(**merged)
