"""Local files given as Execution inputs: ``inputs: {data: {path: ./data/jan.parquet}}``.

An input of blob (``FlyteFile``), multipart blob (``FlyteDirectory``) or structured dataset type
may name a file or directory on disk instead of a URI; apply uploads it through DataProxy and
the run gets the remote URI (DESIGN.md, "Inputs from local files and outputs back"). This module
finds such values in a manifest and reads them, before anything talks to Admin (the plan is a
pure function of what is read, STYLE.md 1); ``reconciler.plan.files`` decides what the plan does
with them once the input's type is known.

- Form: a mapping with the single key ``path`` whose value is not a URI. Relative paths are
  relative to the manifest's file. Under ``--ref`` the manifests are read from a copy of the
  revision's tree, so the file is the one that revision holds, as a Registration's package is.
- Identity is the MD5 of the content, as DataProxy content-addresses uploads by MD5: for a file
  the MD5 of its bytes; for a directory the MD5 over its files' relative paths (POSIX, sorted)
  and their MD5s, so that renaming a file inside changes it too. The digest is also the
  upload's ``filename_root``, so the same content always lands at the same remote location.
- A directory is uploaded file by file under that one root, as flytekit's ``FlyteFS`` uploads a
  ``FlyteDirectory`` (not as a tarball: the task reads a directory prefix, file by file, and
  would have no step that unpacks an archive). flytekit names each file by its base name only,
  which loses subdirectories; here each keeps its relative path. Symbolic links inside a
  directory are skipped, as flytekit skips them, and so is any ``.git`` inside it.
- A path must stay inside the git repository that holds the manifest (when there is one): what
  the commit label and ``--ref`` claim must be in the commit. Symbolic links are resolved first.
- The bytes travel in the plan (apply reads nothing but the plan, STYLE.md 2), so an input is
  limited to :data:`MAX_BYTES`, as a package's members are.

A problem (missing, outside the repository, too large, an empty directory) is recorded, not
raised: the value may turn out to be a structured input with a ``path`` field, which the planner
only knows from the target's interface.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.manifests.execution import ExecutionManifest
from reconciler.manifests.manifest import Manifest

PATH_KEY = "path"
MAX_BYTES = 64 * 1024 * 1024
GIT_DIR = ".git"
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class Member:
    """One file to upload: its name under the upload root (the base name of a file, the path
    relative to a directory) and its bytes."""

    name: str
    data: bytes

    @property
    def md5(self) -> bytes:
        return hashlib.md5(self.data).digest()  # DataProxy's content address, not security


@dataclass(frozen=True)
class LocalFile:
    """A local file or directory an input names, as read (or why it could not be)."""

    written: str
    """The path as the manifest writes it: what plans show."""
    directory: bool = False
    digest: str = ""
    """MD5 hex of the content (see the module docstring); empty when ``problem`` is set."""
    members: tuple[Member, ...] = ()
    problem: str | None = None

    @property
    def shown(self) -> str:
        """How plans show the input: its path and digest, never its content."""
        return f"{self.written} (md5 {self.digest})"


def local_path(value: Any) -> str | None:
    """The path of a local-file value (``{path: ./x}``), or None for any other value."""
    if not isinstance(value, Mapping) or set(value) != {PATH_KEY}:
        return None
    path = value[PATH_KEY]
    if not isinstance(path, str) or not path or _URI.match(path):
        return None
    return path


def read_local_files(manifest: Manifest) -> dict[str, LocalFile]:
    """The local files an Execution manifest's inputs name, by input name."""
    model = manifest.model
    if not isinstance(model, ExecutionManifest):
        return {}
    found = {}
    for name, value in model.spec.inputs.items():
        path = local_path(value)
        if path is not None:
            found[name] = read_local_file(manifest.source.parent, path)
    return found


def read_local_file(base: Path, written: str) -> LocalFile:
    """``written`` (relative to ``base``, the manifest's directory) read and digested."""
    target = Path(os.path.normpath(base / written))
    root = repository_root(base)
    if not target.exists():
        return LocalFile(written, problem=f"{written} does not exist (looked for {target})")
    resolved = target.resolve()
    if root is not None and not resolved.is_relative_to(root.resolve()):
        return LocalFile(
            written,
            problem=f"{written} is outside the repository {root}: a commit cannot hold it",
        )
    if resolved.is_file():
        if resolved.stat().st_size > MAX_BYTES:
            return LocalFile(written, problem=f"{written} is larger than 64 MiB")
        data = resolved.read_bytes()
        member = Member(resolved.name, data)
        return LocalFile(written, False, hashlib.md5(data).hexdigest(), (member,))
    if not resolved.is_dir():
        return LocalFile(written, problem=f"{written} is neither a file nor a directory")
    members = []
    total = 0
    for file in sorted(resolved.rglob("*")):
        relative = file.relative_to(resolved)
        # a repository's own metadata is never data: ``path: .`` at the root must not upload
        # ``.git`` (its config may hold credentials), nor a submodule's
        if GIT_DIR in relative.parts or file.is_symlink() or not file.is_file():
            continue
        total += file.stat().st_size
        if total > MAX_BYTES:
            return LocalFile(written, True, problem=f"{written} holds more than 64 MiB")
        members.append(Member(relative.as_posix(), file.read_bytes()))
    if not members:
        return LocalFile(written, True, problem=f"{written} is an empty directory")
    members.sort(key=lambda m: m.name)
    digest = hashlib.md5()
    for member in members:
        digest.update(f"{member.name}\0{member.md5.hex()}\n".encode())
    return LocalFile(written, True, digest.hexdigest(), tuple(members))


def repository_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` that holds ``.git`` (the working tree's
    root, or the root of a ``--ref`` copy, which gets one), or None outside git."""
    current = start.absolute()
    for directory in (current, *current.parents):
        if (directory / ".git").exists():
            return directory
    return None
