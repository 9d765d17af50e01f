"""What plan, apply and drift share: load and resolve the manifests, connect, read Admin, plan."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click

from reconciler.admin.client import AdminClient
from reconciler.admin.session import open_admin
from reconciler.config import Connection, ConnectionFlags, Settings, resolve_connection
from reconciler.diagnostics import Diagnostic, has_errors
from reconciler.errors import ConfigError, InvalidManifestsError, PackageError, UsageError
from reconciler.manifests.load import Manifest, load_tree
from reconciler.manifests.registration import RegistrationManifest
from reconciler.manifests.resolve import Resolved, resolve
from reconciler.packages import (
    Package,
    Source,
    content_version,
    read_package,
    serialize_sources,
)
from reconciler.plan.actual import fetch_actual
from reconciler.plan.common import Context
from reconciler.plan.make import Desired, followups, make_plan, needs
from reconciler.plan.model import Plan
from reconciler.plan.registration import DesiredRegistration


@dataclass(frozen=True)
class AdminOptions:
    paths: tuple[Path, ...]
    flags: ConnectionFlags = field(default_factory=ConnectionFlags)
    environment: str | None = None
    targets: tuple[str, ...] = ()
    prune: bool = False
    verbose: bool = False


@dataclass(frozen=True)
class Planned:
    plan: Plan
    settings: Settings
    connection: Connection


def load_desired(
    options: AdminOptions, environ: Mapping[str, str], *, packages: bool = False
) -> tuple[Desired, Settings]:
    """The manifests to act on, resolved; with ``packages``, Registration packages read too
    (planning needs them; reports such as ``status`` do not, and serializing source is slow)."""
    tree = load_tree(options.paths, options.environment)
    if not tree.ok:
        raise InvalidManifestsError([d for d in tree.diagnostics if d.is_error])
    chosen = _targeted(tree.manifests, options.targets)
    resolved: list[Resolved] = []
    problems: list[Diagnostic] = []
    for manifest in chosen:
        outcome = resolve(manifest, environ)
        if isinstance(outcome, list):
            problems.extend(outcome)
        else:
            resolved.append(outcome)
    registrations = _registrations(resolved, problems, options.verbose) if packages else {}
    if has_errors(problems):
        raise InvalidManifestsError(problems)
    return Desired(resolved, {m.address: m for m in chosen}, registrations), tree.settings


def _registrations(
    resolved: Sequence[Resolved], problems: list[Diagnostic], verbose: bool = False
) -> dict[str, DesiredRegistration]:
    """Read each Registration's package (or serialize its source) and decide its version.

    Each distinct source is serialized once per run, whatever number of Registrations share it,
    and distinct sources in parallel; with ``verbose``, stderr says how long each one took."""
    manifests = [
        item.manifest for item in resolved if isinstance(item.manifest.model, RegistrationManifest)
    ]
    sources = {m.address: _source_of(m) for m in manifests}
    serialized = serialize_sources(s for s in sources.values() if s is not None)
    if verbose:
        for done in serialized.values():
            click.echo(done.describe(), err=True)
    found: dict[str, DesiredRegistration] = {}
    for manifest in manifests:
        model = manifest.model
        assert isinstance(model, RegistrationManifest)
        spec = model.spec
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


def _source_of(manifest: Manifest) -> Source | None:
    model = manifest.model
    assert isinstance(model, RegistrationManifest)
    source = model.spec.source
    if source is None:
        return None
    return Source.of(manifest.source.parent / source.path, source.module, source.copy_style)


def _targeted(manifests: Sequence[Manifest], targets: Sequence[str]) -> list[Manifest]:
    """``--target KIND/NAME`` (or a full address) narrows the plan to those resources."""
    if not targets:
        return list(manifests)
    chosen: list[Manifest] = []
    for target in targets:
        kind, _, name = target.partition("/")
        found = [
            m
            for m in manifests
            if m.address == target
            or (m.kind == kind and (m.name == name or m.address.endswith("/" + name)))
        ]
        if not found:
            raise UsageError(f"--target {target}: no manifest matches (use KIND/NAME)")
        chosen.extend(m for m in found if m not in chosen)
    return chosen


def context_for(settings: Settings, options: AdminOptions) -> Context:
    if options.prune and not settings.owner_id:
        raise ConfigError(
            "--prune needs ownerId in reconciler.yaml: only owned resources are pruned"
        )
    return Context(
        owner_id=settings.owner_id, commit=git_commit(options.paths), prune=options.prune
    )


def git_commit(paths: Sequence[Path]) -> str | None:
    """The commit the manifests come from, when they are in a git work tree."""
    import git

    for path in paths:
        try:
            repo = git.Repo(path if path.is_dir() else path.parent, search_parent_directories=True)
            return str(repo.head.commit.hexsha)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
            continue
    return None


@contextlib.contextmanager
def connected(
    settings: Settings,
    flags: ConnectionFlags,
    environ: Mapping[str, str],
    projects: Iterable[str] = (),
) -> Iterator[tuple[AdminClient, Connection]]:
    connection = resolve_connection(flags, settings, environ)
    with open_admin(connection, projects=projects) as client:
        yield client, connection


def describe_connection(connection: Connection) -> None:
    """``-v``: where each connection setting came from (secrets only as "set"), on stderr."""
    for line in connection.describe():
        click.echo(f"  {line}", err=True)


def compute_plan(options: AdminOptions, environ: Mapping[str, str]) -> Planned:
    desired, settings = load_desired(options, environ, packages=True)
    context = context_for(settings, options)
    projects = {r.manifest.project for r in desired.resolved}
    with connected(settings, options.flags, environ, projects) as (client, connection):
        if options.verbose:
            describe_connection(connection)
        actual = fetch_actual(client, needs(desired, context), parallelism=settings.parallelism)
        more = followups(desired, actual)
        if more.workflows:
            actual.merge(fetch_actual(client, more, parallelism=settings.parallelism))
    plan, problems = make_plan(desired, actual, context)
    if has_errors(problems):
        raise InvalidManifestsError(problems)
    roots = [p.resolve() if p.is_dir() else p.resolve().parent for p in options.paths]
    metadata = {
        "endpoint": connection.endpoint,
        "root": str(roots[0]),
        "environment": options.environment,
    }
    return Planned(Plan(plan.changes, metadata), settings, connection)
