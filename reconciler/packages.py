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
import functools
import gzip
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from flyteidl.admin import launch_plan_pb2, task_pb2, workflow_pb2
from flyteidl.core import identifier_pb2, tasks_pb2
from flyteidl.core import workflow_pb2 as core_workflow_pb2
from google.protobuf.message import Message

from reconciler.errors import PackageError

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
# rich's error panels, which pyflyte prints around its messages
_BOX = str.maketrans(dict.fromkeys("╭╮╰╯─│", " "))
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


def serialize_source(source: Path, module: str | None, copy: str) -> Package:
    """Serialize Python source with flytekit (``pyflyte package``), in a separate process so that
    the user's modules never load into this one."""
    try:
        import flytekit  # noqa: F401
    except ImportError:
        raise PackageError(
            "registering from source needs flytekit: pip install 'flyte-reconciler[flytekit]'"
        ) from None
    if not source.is_dir():
        raise PackageError(f"source path {source} is not a directory")
    return _serialize(source.resolve(), module, copy)


@functools.lru_cache(maxsize=32)
def _serialize(source: Path, module: str | None, copy: str) -> Package:
    """One serialization per source, module and copy style per run (several Registrations
    usually register the same code in several project/domains)."""
    pyflyte = Path(sys.executable).parent / "pyflyte"
    packages = [module] if module else _top_level_packages(source)
    with tempfile.TemporaryDirectory() as temp:
        output = Path(temp) / "package.tgz"
        command = [str(pyflyte)]
        for package in packages:
            command += ["--pkgs", package]
        command += [
            "package",
            "--copy",
            copy,
            "--output",
            str(output),
            "--force",
            "--source",
            str(source),
        ]
        done = subprocess.run(
            command, cwd=source, capture_output=True, text=True, timeout=600, check=False
        )
        if done.returncode != 0:
            text = (done.stderr or done.stdout).translate(_BOX)
            lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
            raise PackageError(f"pyflyte package failed for {source}: {' '.join(lines[-4:])}")
        return read_package(output)


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
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if _repeated(field):
            items = value.values() if field.message_type.GetOptions().map_entry else value
            for item in items:
                if isinstance(item, Message):
                    _fill_identifiers(item, project, domain, version)
        else:
            _fill_identifiers(value, project, domain, version)


def _repeated(field: Any) -> bool:
    # protobuf 6+ has ``is_repeated``; older releases only ``label``
    repeated = getattr(field, "is_repeated", None)
    return bool(repeated) if repeated is not None else field.label == field.LABEL_REPEATED


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
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if _repeated(field):
            items = value.values() if field.message_type.GetOptions().map_entry else value
            for item in items:
                if isinstance(item, Message):
                    _canonicalize(item)
        else:
            _canonicalize(value)


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
    from reconciler.plan.common import digest, normalized

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
