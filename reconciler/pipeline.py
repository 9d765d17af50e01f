"""The way from manifest paths to a plan, as ``plan``, ``apply``, ``drift`` and the reconcile loop
all take it: source (the working tree or a git revision) -> load and validate -> resolve
``${env:...}`` -> read Registration packages -> connect -> read Admin -> plan.

Nothing here writes to a terminal: ``-v`` notes and login instructions go through the
``Terminal`` the command layer lends (``reconciler.commands.reconcile_common.terminal``)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.admin.client import AdminClient, Notice
from reconciler.admin.session import open_admin
from reconciler.config import Connection, ConnectionFlags, Settings, resolve_connection
from reconciler.diagnostics import Diagnostic, has_errors
from reconciler.errors import ConfigError, InvalidManifestsError, PackageError
from reconciler.kinds.registration import KIND as REGISTRATION
from reconciler.manifests.files import read_local_files
from reconciler.manifests.load import Manifest, load_tree
from reconciler.manifests.registration import RegistrationManifest
from reconciler.manifests.resolve import Resolved, resolve
from reconciler.manifests.source import Snapshot, Source, manifests_at, working_tree_source
from reconciler.manifests.targets import Selection, select
from reconciler.packages import (
    DesiredRegistration,
    Package,
    SourceCode,
    content_version,
    read_package,
    serialize_sources,
)
from reconciler.plan.common import Context
from reconciler.plan.make import Desired, followups, make_plan, needs
from reconciler.plan.model import Plan
from reconciler.read import fetch_actual
from reconciler.shard import Shard


def _untold(text: str) -> None:
    """``say`` of a terminal nobody reads."""


@dataclass(frozen=True)
class Terminal:
    """The person running the command, as the command layer knows them: ``say`` gives them a
    line (on stderr: ``-v`` notes, where to log in), ``interactive`` whether they are at a
    terminal to log in (Pkce, DeviceFlow). The default tells nobody anything and never waits
    on a person: what tests and other callers get unless they lend one."""

    say: Notice = _untold
    interactive: bool = False


QUIET = Terminal()


@dataclass(frozen=True)
class AdminOptions:
    paths: tuple[Path, ...]
    flags: ConnectionFlags = field(default_factory=ConnectionFlags)
    environment: str | None = None
    targets: tuple[str, ...] = ()
    prune: bool = False
    verbose: bool = False
    ref: str | None = None
    """``--ref REV``: read the manifests from this git revision, not the working tree."""
    shard: Shard | None = None
    """``--shard I/N``: only the manifests of the project/domains this replica owns."""


@dataclass(frozen=True)
class Planned:
    plan: Plan
    settings: Settings
    connection: Connection


def load_desired(
    options: AdminOptions,
    environ: Mapping[str, str],
    *,
    packages: bool = False,
    snapshot: Snapshot | None = None,
    terminal: Terminal = QUIET,
) -> tuple[Desired, Settings]:
    """The manifests to act on, resolved; with ``packages``, Registration packages and the
    local files Execution inputs name read too (planning needs them; reports such as
    ``status`` do not, and serializing source is slow). ``snapshot`` reads them from a git
    revision instead of ``options.paths``."""
    if snapshot is None:
        tree = load_tree(options.paths, options.environment)
    else:
        tree = load_tree(snapshot.paths, options.environment, display=snapshot.display)
    if options.verbose:
        terminal.say(f"settings file: {tree.settings_file or 'none'}")
    if not tree.ok:
        raise InvalidManifestsError([d for d in tree.diagnostics if d.is_error])
    shard = options.shard
    owned = [m for m in tree.manifests if shard is None or shard.owns(m.project, m.domain)]
    selection = _targeted(owned, options.targets)
    resolved: list[Resolved] = []
    problems: list[Diagnostic] = []
    for manifest in selection.manifests:
        outcome = resolve(manifest, environ)
        if isinstance(outcome, list):
            problems.extend(outcome)
        else:
            resolved.append(outcome)
    say = terminal.say if options.verbose else None
    revision = snapshot if snapshot is not None and snapshot.root is not None else None
    registrations = _registrations(resolved, problems, say, revision) if packages else {}
    if has_errors(problems):
        raise InvalidManifestsError(problems)
    if options.targets and packages:
        # Registrations came along as candidates; now that their packages are read, only those
        # that were targeted or register something the selection uses stay in the plan.
        registrations = {
            address: planned
            for address, planned in registrations.items()
            if selection.keeps(
                address,
                planned.project,
                planned.domain,
                planned.version,
                ((e.kind, e.name) for e in planned.package.entities),
            )
        }
        resolved = [
            r
            for r in resolved
            if r.manifest.kind != "Registration" or r.manifest.address in registrations
        ]
    kept = {r.manifest.address for r in resolved}
    written = {m.address: m for m in selection.manifests if m.address in kept}
    files = {}
    if packages:
        read = ((r.manifest.address, read_local_files(r.manifest)) for r in resolved)
        files = {address: found for address, found in read if found}
    return Desired(resolved, written, registrations, files), tree.settings


def _registrations(
    resolved: Sequence[Resolved],
    problems: list[Diagnostic],
    say: Notice | None = None,
    revision: Snapshot | None = None,
) -> dict[str, DesiredRegistration]:
    """Read each Registration's package (or serialize its source) and decide its version.

    Each distinct source is serialized once per run, whatever number of Registrations share it,
    and distinct sources in parallel; ``say`` (``-v``) is told how long each one took. Read
    from a ``revision`` (``--ref``), a package or source it does not hold is refused, before
    anything is read or serialized."""
    manifests = []
    for item in REGISTRATION.of(resolved):
        refused = _not_in_revision(item.manifest, revision) if revision is not None else None
        if refused is None:
            manifests.append(item.manifest)
        else:
            problems.append(refused)
    sources = {m.address: _source_of(m) for m in manifests}
    serialized = serialize_sources(s for s in sources.values() if s is not None)
    if say is not None:
        for done in serialized.values():
            say(done.describe())
    found: dict[str, DesiredRegistration] = {}
    for manifest in manifests:
        spec = manifest.model.spec
        source = sources[manifest.address]
        outcome: Package | PackageError
        if source is None:
            assert spec.package is not None
            try:
                outcome = read_package(manifest.source.parent / spec.package)
            except PackageError as exc:
                outcome = exc
        else:
            outcome = serialized[source].outcome
        if isinstance(outcome, PackageError):
            where = ("spec", "package" if source is None else "source")
            problems.append(manifest.diagnostic(where, str(outcome)))
            continue
        package = outcome
        if spec.source is not None and spec.source.entities:
            wanted = set(spec.source.entities)
            package = dataclasses.replace(
                package, entities=tuple(e for e in package.entities if e.name in wanted)
            )
        version = (
            spec.version
            if spec.version != "auto"
            else content_version(package, manifest.project, manifest.domain)
        )
        found[manifest.address] = DesiredRegistration(manifest, package, version)
    return found


def _not_in_revision(
    manifest: Manifest[RegistrationManifest], revision: Snapshot
) -> Diagnostic | None:
    """Why a Registration read from a revision's copy (``--ref``) cannot have its package or
    source, or None. The path is relative to the manifest in the copy, so an absolute one, or
    one with more ``..`` than the manifest is deep, leads out of the copy, to this machine's
    files: a plan that claims a commit would register code that commit does not hold. In the
    working tree such paths are allowed (``dist/`` is build output, often not committed)."""
    assert revision.root is not None
    assert revision.source is not None
    spec = manifest.model.spec
    where: tuple[str, ...]
    if spec.package is not None:
        where, written, what = ("spec", "package"), spec.package, "a package"
    else:
        assert spec.source is not None
        where, written, what = ("spec", "source", "path"), spec.source.path, "source"
    target = Path(os.path.normpath(manifest.source.parent / written))
    at = f"--ref {revision.source.ref} ({revision.source.short})"
    if not target.resolve().is_relative_to(revision.root.resolve()):
        return manifest.diagnostic(
            where,
            f"{written!r} is outside the repository: with {at} {what} must come from that "
            "revision, not from this machine's files",
        )
    if not target.exists():
        return manifest.diagnostic(
            where,
            f"{written!r} is not in the revision {at}: with --ref {what} is read from the "
            "commit, so build output that is not committed is not there; commit it, or plan "
            "from the working tree",
        )
    return None


def _source_of(manifest: Manifest[RegistrationManifest]) -> SourceCode | None:
    source = manifest.model.spec.source
    if source is None:
        return None
    return SourceCode.of(manifest.source.parent / source.path, source.module, source.copy_style)


def _targeted(manifests: Sequence[Manifest], targets: Sequence[str]) -> Selection:
    """``--target`` narrows the plan to those manifests and what they depend on (see
    ``reconciler.manifests.targets``)."""
    return select(manifests, targets)


def context_for(settings: Settings, options: AdminOptions, source: Source | None) -> Context:
    if options.prune and not settings.owner_id:
        raise ConfigError(
            "--prune needs ownerId in reconciler.yaml: only owned resources are pruned"
        )
    # the commit label: the short SHA, "-dirty" when the commit does not hold the manifests
    return Context(
        owner_id=settings.owner_id,
        commit=source.label if source is not None else None,
        prune=options.prune,
        shard=options.shard,
    )


def manifest_source(options: AdminOptions, desired: Desired) -> Source | None:
    """Where the manifests of the working tree come from. Besides the PATHs, the files
    Registration manifests read, and local files given as inputs, count for ``dirty`` when
    they are inside the repository: a run must not claim a commit for code or data the commit
    does not hold."""
    read: list[Path] = []
    for item in desired.resolved:
        model = item.manifest.model
        for local in desired.files.get(item.manifest.address, {}).values():
            read.append(item.manifest.source.parent / local.written)
        if isinstance(model, RegistrationManifest):
            base = item.manifest.source.parent
            spec = model.spec
            if spec.package is not None:
                read.append(base / spec.package)
            elif spec.source is not None:
                read.append(base / spec.source.path)
    return working_tree_source(options.paths, read)


@contextlib.contextmanager
def connected(
    settings: Settings,
    flags: ConnectionFlags,
    environ: Mapping[str, str],
    projects: Iterable[str] = (),
    terminal: Terminal = QUIET,
) -> Iterator[tuple[AdminClient, Connection]]:
    """A client for the connection the flags, the environment and the settings give (see
    ``open_admin`` for ``projects``); an interactive login asks ``terminal``'s person."""
    connection = resolve_connection(flags, settings, environ)
    with open_admin(
        connection, projects=projects, interactive=terminal.interactive, notify=terminal.say
    ) as client:
        yield client, connection


def describe_connection(connection: Connection, say: Notice) -> None:
    """``-v``: where each connection setting came from (secrets only as "set")."""
    for line in connection.describe():
        say(f"  {line}")


def compute_plan(
    options: AdminOptions, environ: Mapping[str, str], terminal: Terminal = QUIET
) -> Planned:
    with manifests_at(options.paths, options.ref) as snapshot:
        desired, settings = load_desired(
            options, environ, packages=True, snapshot=snapshot, terminal=terminal
        )
        # packages are read into memory above, so the revision's copy may go now; the root is
        # where the manifests live in the working tree, even when read from a revision
        first = options.paths[0]
        root = first.resolve() if snapshot.paths[0].is_dir() else first.resolve().parent
    source = snapshot.source if options.ref is not None else manifest_source(options, desired)
    context = context_for(settings, options, source)
    # a project the tree declares is registered by the plan, not made in advance
    declared = {r.manifest.project for r in desired.resolved if r.manifest.kind == "Project"}
    projects = {r.manifest.project for r in desired.resolved} - declared
    with connected(settings, options.flags, environ, projects, terminal) as (client, connection):
        if options.verbose:
            describe_connection(connection, terminal.say)
        actual = fetch_actual(client, needs(desired, context), parallelism=settings.parallelism)
        more = followups(desired, actual)
        if more:
            actual.merge(fetch_actual(client, more, parallelism=settings.parallelism))
    plan, problems = make_plan(desired, actual, context)
    if has_errors(problems):
        raise InvalidManifestsError(problems)
    metadata = {
        "endpoint": connection.endpoint,
        "root": str(root),
        "environment": options.environment,
    }
    return Planned(Plan(plan.changes, metadata, source), settings, connection)
