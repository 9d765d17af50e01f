"""``--target``: narrow a plan to some manifests and to what they depend on.

A target is ``KIND/NAME`` (that name in every project/domain) or an exact address,
``KIND/PROJECT/DOMAIN/NAME`` (``Signal/PROJECT/DOMAIN/EXECUTION/SIGNAL_ID`` for signals, as
plans print them). As with Terraform's ``-target``, a targeted manifest brings along, transitively,
the manifests it depends on, so that the narrowed plan can be applied by itself:

- a LaunchPlan: the Registration that registers its workflow;
- an Execution: its LaunchPlan manifest when the tree declares it, and the Registration of its
  task, workflow or (undeclared) launch plan;
- a Backfill: its LaunchPlan manifest (or the Registration of an undeclared one);
- a Signal: the Execution it signals.

Which entities a Registration registers is only known once its package is read, later and at a
cost. So ``select`` takes every Registration in the right project/domain (at a compatible
version) as a candidate, and ``Selection.keeps`` drops, once the packages are read, the
candidates that register nothing the selection uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reconciler.errors import UsageError
from reconciler.manifests.backfill import BackfillManifest
from reconciler.manifests.checks import declared_launch_plan
from reconciler.manifests.execution import ExecutionManifest, attempt_name
from reconciler.manifests.fields import EntityRef
from reconciler.manifests.launchplan import LaunchPlanManifest
from reconciler.manifests.load import Manifest
from reconciler.manifests.parse import KINDS, suggest
from reconciler.manifests.registration import RegistrationManifest
from reconciler.manifests.signal import SignalManifest

FORMS = "KIND/NAME or KIND/PROJECT/DOMAIN/NAME"


@dataclass(frozen=True)
class Target:
    """One ``--target``; ``scope`` (project, domain) is None for ``KIND/NAME``."""

    text: str
    kind: str
    scope: tuple[str, str] | None
    name: str

    @classmethod
    def parse(cls, text: str) -> Target:
        parts = text.split("/")
        kind = parts[0]
        if kind not in KINDS:
            raise UsageError(
                f"--target {text}: unknown kind {kind!r}{suggest(kind, KINDS)}; expected {FORMS} "
                f"with KIND one of {', '.join(KINDS)}"
            )
        if len(parts) == 2 and parts[1]:
            return cls(text, kind, None, parts[1])
        if all(parts) and (len(parts) == 4 or (len(parts) == 5 and kind == SignalManifest.KIND)):
            # Names never hold '/' (the models refuse it), so the split is unambiguous.
            return cls(text, kind, (parts[1], parts[2]), "/".join(parts[3:]))
        raise UsageError(f"--target {text}: expected {FORMS}")

    def matches(self, manifest: Manifest) -> bool:
        if manifest.kind != self.kind:
            return False
        if self.scope is not None and self.scope != (manifest.project, manifest.domain):
            return False
        names = {manifest.name}
        if isinstance(manifest.model, SignalManifest):
            names.add(f"{manifest.model.spec.execution}/{manifest.model.spec.signal_id}")
        return self.name in names


@dataclass(frozen=True)
class Wanted:
    """An entity that a selected manifest uses and a Registration may register: ``kind`` is
    ``task``, ``workflow`` or ``launch_plan``; ``version`` None means "the version the plan's
    Registration gives it"."""

    kind: str
    project: str
    domain: str
    name: str
    version: str | None

    @classmethod
    def of(cls, kind: str, manifest: Manifest, ref: EntityRef) -> Wanted:
        version = ref.version
        if version is not None and "${" in version:
            version = None  # known at plan time only: any version will do here
        return cls(
            kind, ref.project or manifest.project, ref.domain or manifest.domain, ref.name, version
        )

    def may_come_from(self, registration: Manifest) -> bool:
        """Judged from the manifest alone: a version of ``auto`` (or from the environment) is
        only known once the package is read."""
        model = registration.model
        assert isinstance(model, RegistrationManifest)
        if (registration.project, registration.domain) != (self.project, self.domain):
            return False
        version = model.spec.version
        return self.version is None or version in (self.version, "auto") or "${" in version

    def provided_by(self, project: str, domain: str, version: str, kind: str, name: str) -> bool:
        return (self.kind, self.project, self.domain, self.name) == (
            kind,
            project,
            domain,
            name,
        ) and self.version in (None, version)


@dataclass(frozen=True)
class Selection:
    manifests: tuple[Manifest, ...]
    """The targeted manifests and their dependencies, in tree order."""
    targeted: frozenset[str]
    """Addresses that a target named."""
    wanted: frozenset[Wanted]
    """What the selected manifests use from Registrations."""

    def keeps(
        self,
        address: str,
        project: str,
        domain: str,
        version: str,
        entities: Iterable[tuple[str, str]],
    ) -> bool:
        """Whether a selected Registration stays once its package is read (``entities``:
        kind and name of each entity it registers at ``version``): it was targeted, or it
        registers something the selection uses."""
        if address in self.targeted:
            return True
        return any(
            want.provided_by(project, domain, version, kind, name)
            for kind, name in entities
            for want in self.wanted
        )


def select(manifests: Sequence[Manifest], targets: Sequence[str]) -> Selection:
    """The manifests ``targets`` name, with what they depend on; every manifest without
    targets. Raises ``UsageError`` for a malformed target or one that matches nothing."""
    if not targets:
        return Selection(tuple(manifests), frozenset(m.address for m in manifests), frozenset())
    references = _References(manifests)
    chosen: dict[str, Manifest] = {}
    targeted: set[str] = set()
    for text in targets:
        target = Target.parse(text)
        found = [m for m in manifests if target.matches(m)]
        if not found:
            raise UsageError(f"--target {text}: no manifest matches (use {FORMS})")
        for manifest in found:
            targeted.add(manifest.address)
            chosen.setdefault(manifest.address, manifest)
    pending = list(chosen.values())
    while pending:
        for dependency in references.depends_on(pending.pop()):
            if dependency.address not in chosen:
                chosen[dependency.address] = dependency
                pending.append(dependency)
    wanted = frozenset(w for m in chosen.values() for w in references.wants(m))
    ordered = tuple(m for m in manifests if m.address in chosen)
    return Selection(ordered, frozenset(targeted), wanted)


class _References:
    """What each manifest of a tree refers to, among the tree's manifests."""

    def __init__(self, manifests: Sequence[Manifest]) -> None:
        self._launch_plans = {
            (m.project, m.domain, m.name): m
            for m in manifests
            if isinstance(m.model, LaunchPlanManifest)
        }
        # A signal names the run it is sent to, which may be a retry attempt of an Execution.
        self._runs: dict[tuple[str, str, str], Manifest] = {}
        for manifest in manifests:
            if isinstance(manifest.model, ExecutionManifest):
                for name in _run_names(manifest.model):
                    self._runs.setdefault((manifest.project, manifest.domain, name), manifest)
        self._registrations = [m for m in manifests if isinstance(m.model, RegistrationManifest)]

    def wants(self, manifest: Manifest) -> list[Wanted]:
        model = manifest.model
        found: list[Wanted] = []
        if isinstance(model, LaunchPlanManifest):
            found.append(Wanted.of("workflow", manifest, model.spec.workflow))
        elif isinstance(model, ExecutionManifest):
            if model.spec.task is not None:
                found.append(Wanted.of("task", manifest, model.spec.task))
            if model.spec.workflow is not None:
                found.append(Wanted.of("workflow", manifest, model.spec.workflow))
        ref = _launch_plan_ref(manifest)
        if ref is not None and self._declared(manifest, ref) is None:
            found.append(Wanted.of("launch_plan", manifest, ref))
        return found

    def depends_on(self, manifest: Manifest) -> list[Manifest]:
        found = [
            registration
            for want in self.wants(manifest)
            for registration in self._registrations
            if want.may_come_from(registration)
        ]
        ref = _launch_plan_ref(manifest)
        declared = self._declared(manifest, ref) if ref is not None else None
        if declared is not None:
            found.append(declared)
        model = manifest.model
        if isinstance(model, SignalManifest):
            run = self._runs.get((manifest.project, manifest.domain, model.spec.execution))
            if run is not None:
                found.append(run)
        return found

    def _declared(self, manifest: Manifest, ref: EntityRef) -> Manifest | None:
        return declared_launch_plan(manifest, ref, self._launch_plans)


def _launch_plan_ref(manifest: Manifest) -> EntityRef | None:
    model = manifest.model
    if isinstance(model, ExecutionManifest | BackfillManifest):
        return model.spec.launch_plan
    return None


def _run_names(model: ExecutionManifest) -> list[str]:
    on_failure = model.spec.on_failure
    attempts = on_failure.max_attempts if on_failure.action != "none" else 0
    return [model.name, *(attempt_name(model.name, n) for n in range(1, attempts + 1))]
