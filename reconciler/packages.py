"""What a Registration manifest registers: the entities of a ``pyflyte package`` archive (or of a
Python module, serialized with flytekit into such an archive), filled in for a project, domain
and version.

``pyflyte package`` writes ``NN_<name>_1.pb`` (TaskSpec), ``NN_<name>_2.pb`` (WorkflowSpec) and
``NN_<name>_3.pb`` (LaunchPlan), and ``fast<digest>.tar.gz`` when code is copied. Identifiers
in them leave project, domain and version empty and task arguments hold
``{{ .remote_package_path }}`` and ``{{ .dest_dir }}``; registration fills them in (as flytectl's
``hydrateSpec`` does; ADMIN-SEMANTICS.md, Registration).

``version: auto`` is a digest of the specs (flytekit's own version stamp left out) and of the
code tarball's content digest: the same sources give the same version on every machine and with
every reconciler version. The specs are digested in their canonical form (:func:`canonical`),
because pyflyte writes some of them differently from one process, or one checkout, to the next.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from flyteidl.admin import launch_plan_pb2, task_pb2, workflow_pb2
from flyteidl.core import identifier_pb2, tasks_pb2
from flyteidl.core import workflow_pb2 as core_workflow_pb2
from flyteidl.service import dataproxy_pb2
from google.protobuf.message import Message

from reconciler.canonical import digest, normalized
from reconciler.errors import PackageError
from reconciler.manifests.manifest import Manifest
from reconciler.manifests.registration import RegistrationManifest
from reconciler.protos import submessages

EntityKind = Literal["task", "workflow", "launch_plan"]
_MEMBER = re.compile(r"(?:.*/)?(\d+)_(.+)_([123])\.pb")
_FAST = re.compile(r"(?:.*/)?fast([0-9a-f]+)\.tar\.gz")
_KINDS: dict[str, tuple[EntityKind, type[Message]]] = {
    "1": ("task", task_pb2.TaskSpec),
    "2": ("workflow", workflow_pb2.WorkflowSpec),
    "3": ("launch_plan", launch_plan_pb2.LaunchPlan),
}
# Archives hold small protobuf files and one code tarball; anything bigger is refused.
MAX_MEMBER_BYTES = 64 * 1024 * 1024
# How much of pyflyte's output a failure shows: its error panel and the lines just above it.
PYFLYTE_TAIL_LINES = 25
PYFLYTE_TIMEOUT_SECONDS = 600
# pyflyte runs are CPU-bound (each imports flytekit and the user's code), so more of them at once
# than there are cores only adds memory.
MAX_PARALLEL_SERIALIZATIONS = 4
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
REMOTE_PACKAGE_PATH = "{{ .remote_package_path }}"
DEST_DIR = "{{ .dest_dir }}"


@dataclass(frozen=True)
class Entity:
    kind: EntityKind
    name: str
    order: int
    spec: Any  # TaskSpec | WorkflowSpec | LaunchPlan, as in the archive


@dataclass(frozen=True)
class CodeTarball:
    filename: str
    digest: str  # flytekit's content digest, from the file name
    data: bytes

    @property
    def md5(self) -> bytes:
        return hashlib.md5(self.data).digest()  # Content-MD5, not security

    @property
    def md5_b64(self) -> str:
        return base64.b64encode(self.md5).decode("ascii")


@dataclass(frozen=True)
class Package:
    origin: str
    entities: tuple[Entity, ...]
    code: CodeTarball | None


def read_package(path: Path) -> Package:
    """A ``pyflyte package`` archive (``.tgz``) or a folder of its files."""
    members: list[tuple[str, bytes]] = []
    if path.is_dir():
        for file in sorted(path.iterdir()):
            if file.is_file() and (_MEMBER.fullmatch(file.name) or _FAST.fullmatch(file.name)):
                members.append((file.name, _read_bounded(file)))
    elif path.is_file():
        try:
            with tarfile.open(path, "r:*") as archive:
                for info in archive.getmembers():
                    if not info.isfile():
                        continue  # links and devices are never followed
                    if info.size > MAX_MEMBER_BYTES:
                        raise PackageError(f"{path}: {info.name} is larger than 64 MiB")
                    handle = archive.extractfile(info)
                    if handle is not None:
                        members.append((info.name, handle.read()))
        except (tarfile.TarError, EOFError) as exc:
            # tarfile's message lists every compression it tried, over several lines
            raise PackageError(
                f"{path} is not a pyflyte package archive (not a readable tar file)"
            ) from exc
        except OSError as exc:
            raise PackageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    else:
        raise PackageError(f"{path} does not exist")
    return _package(str(path), members)


def _read_bounded(file: Path) -> bytes:
    if file.stat().st_size > MAX_MEMBER_BYTES:
        raise PackageError(f"{file} is larger than 64 MiB")
    return file.read_bytes()


def _package(origin: str, members: Iterable[tuple[str, bytes]]) -> Package:
    entities: list[Entity] = []
    code: CodeTarball | None = None
    for name, data in members:
        fast = _FAST.fullmatch(name)
        if fast is not None:
            code = CodeTarball(name.rsplit("/", 1)[-1], fast.group(1), data)
            continue
        match = _MEMBER.fullmatch(name)
        if match is None:
            continue
        kind, cls = _KINDS[match.group(3)]
        spec = cls()
        try:
            spec.ParseFromString(data)
        except Exception as exc:  # protobuf's DecodeError has no stable import path
            raise PackageError(f"{origin}: {name} is not a valid {cls.__name__}") from exc
        entities.append(Entity(kind, match.group(2), int(match.group(1)), spec))
    if not entities:
        raise PackageError(f"{origin} holds no tasks, workflows or launch plans")
    entities.sort(key=lambda e: e.order)  # flytectl registers files in sorted order
    return Package(origin, tuple(entities), code)


@dataclass(frozen=True)
class SourceCode:
    """What one ``pyflyte package`` run serializes. Several Registrations usually register the
    same code in several project/domains; equal sources are serialized once per run."""

    path: Path  # resolved, so that two spellings of one directory are one source
    module: str | None
    copy: str

    @classmethod
    def of(cls, path: Path, module: str | None, copy: str) -> SourceCode:
        return cls(path.resolve(), module, copy)

    def describe(self) -> str:
        try:
            shown = str(self.path.relative_to(Path.cwd()))
        except ValueError:
            shown = str(self.path)
        what = f"module {self.module}" if self.module else "every package"
        return f"{shown} ({what}{'' if self.copy == 'auto' else f', copy {self.copy}'})"


@dataclass(frozen=True)
class Serialized:
    """The outcome of serializing one source, and how long pyflyte took (for ``-v``)."""

    source: SourceCode
    outcome: Package | PackageError
    seconds: float

    def describe(self) -> str:
        if isinstance(self.outcome, PackageError):
            return f"failed to serialize {self.source.describe()} after {self.seconds:.1f} s"
        return f"serialized {self.source.describe()} in {self.seconds:.1f} s"


def serialize_sources(sources: Iterable[SourceCode]) -> dict[SourceCode, Serialized]:
    """Serialize each distinct source once, several at a time: each is its own pyflyte process,
    so they share nothing but the machine."""
    distinct = list(dict.fromkeys(sources))
    if not distinct:
        return {}
    workers = min(len(distinct), os.cpu_count() or 1, MAX_PARALLEL_SERIALIZATIONS)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pyflyte") as pool:
        return {done.source: done for done in pool.map(_serialize_timed, distinct)}


def _serialize_timed(source: SourceCode) -> Serialized:
    started = time.perf_counter()
    try:
        outcome: Package | PackageError = serialize_source(source)
    except PackageError as exc:
        outcome = exc
    return Serialized(source, outcome, time.perf_counter() - started)


def serialize_source(source: SourceCode) -> Package:
    """Serialize Python source with flytekit (``pyflyte package``), in a separate process so that
    the user's modules never load into this one."""
    # find_spec, not import: importing flytekit here would cost more than a second of start-up
    # for a module this process never uses.
    if importlib.util.find_spec("flytekit") is None:
        raise PackageError(
            "registering from source needs flytekit: pip install 'flyte-reconciler[flytekit]'"
        )
    if not source.path.is_dir():
        raise PackageError(f"source path {source.path} is not a directory")
    pyflyte = Path(sys.executable).parent / "pyflyte"
    packages = [source.module] if source.module else _top_level_packages(source.path)
    with tempfile.TemporaryDirectory() as temp:
        output = Path(temp) / "package.tgz"
        command = [str(pyflyte)]
        for package in packages:
            command += ["--pkgs", package]
        command += [
            "package",
            "--copy",
            source.copy,
            "--output",
            str(output),
            "--force",
            "--source",
            str(source.path),
        ]
        try:
            done = _run_pyflyte(command, source.path)
        except subprocess.TimeoutExpired:
            raise PackageError(
                f"pyflyte package did not finish within {PYFLYTE_TIMEOUT_SECONDS} s "
                f"for {source.path}"
            ) from None
        except OSError as exc:
            raise PackageError(f"cannot run {pyflyte}: {exc.strerror or exc}") from exc
        if done.returncode != 0:
            raise PackageError(
                f"pyflyte package failed for {source.path} (exit {done.returncode}):\n"
                + _tail(done.stdout)
            )
        return read_package(output)


def _run_pyflyte(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The one place a pyflyte process is started."""
    # One stream, in the order pyflyte wrote it: its error panel goes to stdout, Python's own
    # tracebacks and warnings to stderr.
    return subprocess.run(
        command,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=PYFLYTE_TIMEOUT_SECONDS,
        check=False,
    )


def _tail(output: str) -> str:
    """The end of pyflyte's output as it printed it (rich's panel included), indented under the
    diagnostic; only colour codes and trailing blanks are taken away."""
    lines = [line.rstrip() for line in _ANSI.sub("", output).splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        return "    (pyflyte printed nothing)"
    shown = lines[-PYFLYTE_TAIL_LINES:]
    if len(shown) < len(lines):
        shown.insert(0, f"[last {len(shown)} of {len(lines)} lines]")
    return "\n".join(f"    {line}" if line else "" for line in shown)


def _top_level_packages(source: Path) -> list[str]:
    found = sorted(p.name for p in source.iterdir() if p.is_dir() and (p / "__init__.py").is_file())
    if not found:
        raise PackageError(f"{source} has no Python package; name one with source.module")
    return found


# --- filling in ---------------------------------------------------------------------------------


def hydrate(
    entity: Entity,
    *,
    project: str,
    domain: str,
    version: str,
    remote_package_path: str,
    dest_dir: str,
) -> Any:
    """A copy of the entity's spec with every identifier completed and placeholders filled."""
    spec = type(entity.spec)()
    spec.CopyFrom(entity.spec)
    _fill_identifiers(spec, project, domain, version)
    if isinstance(spec, task_pb2.TaskSpec) and spec.template.HasField("container"):
        args = spec.template.container.args
        for index, arg in enumerate(args):
            args[index] = arg.replace(REMOTE_PACKAGE_PATH, remote_package_path).replace(
                DEST_DIR, dest_dir
            )
    return spec


def _fill_identifiers(message: Message, project: str, domain: str, version: str) -> None:
    if isinstance(message, identifier_pb2.Identifier):
        if message.name:
            message.project = message.project or project
            message.domain = message.domain or domain
            message.version = message.version or version
        return
    for inner in submessages(message):
        _fill_identifiers(inner, project, domain, version)


# flytekit's serialization settings, which a dynamic task carries to compile its sub-workflow at
# run time: gzip'd JSON, base64 (flytekit configuration SERIALIZED_CONTEXT_ENV_VAR).
SERIALIZED_CONTEXT_ENV = "_F_SS_C"


def canonical(spec: Message) -> Message:
    """A copy of a spec in the form its identity is judged by: ``version: auto`` digests it and
    the plan compares it with what Admin holds. It is never what is registered.

    Only what pyflyte writes differently for the same code is changed; every order Flyte gives
    a meaning to stays as written (see the audit in ``_canonicalize``).
    """
    copy = type(spec)()
    copy.CopyFrom(spec)
    _canonicalize(copy)
    return copy


def _canonicalize(message: Message) -> None:
    """What the audit of a package's specs found, field by field:

    * ``Node.upstream_node_ids``: a set. flytekit builds it from a Python ``set`` of node objects
      (``core/promise.py``, ``core/condition.py``), so its order changes from one process to the
      next whenever a node has two or more upstream nodes; propeller's compiler reads it into a
      set too (``AddExecutionEdge`` into ``sets.String``). Sorted here, at every depth: branch
      cases, array nodes, sub-workflows, the failure node.
    * ``_F_SS_C`` in a container's env (dynamic tasks): flytekit's serialization settings hold
      ``source_root``, the absolute path of the checkout that ran pyflyte, which nothing reads at
      run time; the rest is compared decoded, so a different zlib cannot matter.
    * Kept as written, because the order means something: the list of nodes (Admin's digest of
      the compiled closure, its identity for "identical structure", is order-sensitive),
      container args, container env (a ``$(VAR)`` reference sees only the variables before it in
      Kubernetes), literal collections and Struct lists.
    * Kept as written, because flytekit writes them in the order of the code, the same in every
      process, so a new order is a change of the code: a node's input bindings and the workflow
      outputs (interface order), resources, secrets, enum values, union variants, sub-workflows
      (flytekit sorts them).
    * Already order-free: every protobuf ``map`` (interface variables, literal maps, parameter
      maps, labels, annotations, Struct fields), since ``normalized`` turns them into dicts.
    * Not in the digest: flytekit's version stamp (``metadata.runtime``); the code tarball's bytes
      (tar member times and owners are reset by flytekit and gzip is written with mtime 0, but the
      digest uses flytekit's content digest of the files and paths instead, from its name).
    * In the digest although it differs between machines, because it is what runs: the default
      image, whose tag names the Python and flytekit versions that ran pyflyte.
    * Nothing else differed between pyflyte runs of the same code, in separate processes and from
      separate checkouts, for tasks, dynamic tasks, map tasks, gates, branches, sub-workflows and
      launch plans with schedules and fixed inputs (flytekit 1.16). ``docs.source_code.link``
      holds the git remote only with ``pyflyte register``, never with ``pyflyte package``.
    """
    if isinstance(message, core_workflow_pb2.Node):
        ordered = sorted(message.upstream_node_ids)
        del message.upstream_node_ids[:]
        message.upstream_node_ids.extend(ordered)
    elif isinstance(message, tasks_pb2.Container):
        for pair in message.env:
            if pair.key == SERIALIZED_CONTEXT_ENV:
                pair.value = _portable_settings(pair.value)
    for inner in submessages(message):
        _canonicalize(inner)


def _portable_settings(encoded: str) -> str:
    try:
        settings = json.loads(gzip.decompress(base64.b64decode(encoded, validate=True)))
    except (ValueError, OSError, EOFError, zlib.error):
        return encoded  # not flytekit's encoding: compared as written
    if isinstance(settings, dict):
        settings.pop("source_root", None)
    return json.dumps(settings, sort_keys=True, separators=(",", ":"))


def content_version(package: Package, project: str, domain: str) -> str:
    """``version: auto``: a digest of what would be registered, not of the tool that built it."""
    parts: list[Any] = []
    for entity in package.entities:
        spec = hydrate(
            entity,
            project=project,
            domain=domain,
            version="",
            remote_package_path="",
            dest_dir="",
        )
        if isinstance(spec, task_pb2.TaskSpec):
            spec.template.metadata.ClearField("runtime")  # flytekit's version stamp
        # entities in package order: pyflyte numbers them the same way every time
        parts.append([entity.kind, entity.name, normalized(canonical(spec))])
    parts.append(package.code.digest if package.code else None)
    return digest(parts)


@dataclass(frozen=True)
class DesiredRegistration:
    """A Registration manifest with its package read and its version decided."""

    manifest: Manifest[RegistrationManifest]
    package: Package
    version: str

    @property
    def project(self) -> str:
        return self.manifest.project

    @property
    def domain(self) -> str:
        return self.manifest.domain

    def key(self, entity: Entity) -> tuple[str, str, str, str, str]:
        return (entity.kind, self.project, self.domain, entity.name, self.version)

    def upload_key(self) -> tuple[str, str, str, str] | None:
        code = self.package.code
        return (self.project, self.domain, code.digest, code.filename) if code else None

    def upload_request(self) -> dataproxy_pb2.CreateUploadLocationRequest | None:
        code = self.package.code
        if code is None:
            return None
        return dataproxy_pb2.CreateUploadLocationRequest(
            project=self.project,
            domain=self.domain,
            filename=code.filename,
            filename_root=code.digest,
            content_md5=code.md5,
        )

    def hydrated(self, entity: Entity, remote_package_path: str) -> Any:
        return hydrate(
            entity,
            project=self.project,
            domain=self.domain,
            version=self.version,
            remote_package_path=remote_package_path,
            dest_dir=self.manifest.model.spec.destination_dir,
        )

    def workflows(self) -> dict[str, Any]:
        """Workflow name -> WorkflowSpec, as this registration will register them."""
        return {e.name: self.hydrated(e, "") for e in self.package.entities if e.kind == "workflow"}

    def launch_plans(self) -> dict[str, Any]:
        return {
            e.name: self.hydrated(e, "") for e in self.package.entities if e.kind == "launch_plan"
        }
