"""Where the manifests come from: the working tree, or a git revision (``--ref``).

DESIGN.md, "Git as the source": every plan records the commit its manifests come from, and
runs that apply launches carry it as a label, so a run can be traced to the commit that asked
for it. Two cases:

- the working tree (no ``--ref``): HEAD of the repository that contains the first PATH, and
  ``dirty`` when files under the PATHs (or a Registration's package or source inside the
  repository) are modified, staged or untracked, ignored files aside. A commit is never claimed
  for content it does not hold: dirty runs are labelled ``<short sha>-dirty``. Outside git there
  is no source and no label.
- ``--ref REV`` (a commit, tag or branch): the revision's whole tree is written from the git
  objects into a temporary directory and the manifests are read there, so that
  ``reconciler.yaml`` and the relative package and source paths of Registration manifests
  (``../dist/...``, ``../src``) all come from that revision; a path that leads out of the copy
  (absolute, or too many ``..``) is refused by the planner (``Snapshot.root``), as is one the
  revision does not hold (build output that was never committed). Nothing is checked out: the
  working tree, the index and HEAD are never touched, and the copy is removed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from reconciler.errors import UsageError

_SYMLINK = 0o120000
_EXECUTABLE = 0o100755
_COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class Source:
    """The git commit a plan's manifests come from (DESIGN.md, "Git as the source").

    ``ref`` is the revision as given to ``--ref``, or None when the manifests were read from
    the working tree, whose HEAD is then ``commit``; ``dirty`` says that the working tree has
    changes to the manifests (modified, staged or untracked) that ``commit`` does not hold.
    ``repo`` is the repository's working tree directory (a path, never a remote URL, which can
    carry credentials)."""

    repo: str
    commit: str
    ref: str | None = None
    dirty: bool = False

    SHORT: ClassVar[int] = 12

    def __post_init__(self) -> None:
        if not _COMMIT.fullmatch(self.commit):
            raise ValueError(f"source commit {self.commit!r} is not 40 hexadecimal digits")

    @property
    def short(self) -> str:
        return self.commit[: self.SHORT]

    @property
    def label(self) -> str:
        """The ``reconciler.flyte.org/commit`` label of the runs apply launches: the short SHA,
        with ``-dirty`` when the manifests differ from that commit, so that a run never claims
        a commit for content the commit does not hold (a valid Kubernetes label value)."""
        return f"{self.short}-dirty" if self.dirty else self.short

    def to_json(self) -> dict[str, Any]:
        return {"repo": self.repo, "commit": self.commit, "ref": self.ref, "dirty": self.dirty}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Source:
        ref = data.get("ref")
        return cls(
            str(data["repo"]),
            str(data["commit"]),
            None if ref is None else str(ref),
            data.get("dirty") is True,
        )


@dataclass(frozen=True)
class Snapshot:
    """The manifests to read: ``paths`` (the PATHs given, or their copies from a revision),
    the ``source`` when it is known before reading (``--ref``), and how to name files in
    messages (``REV:path`` for a revision; None for the working tree's usual names)."""

    paths: tuple[Path, ...]
    source: Source | None = None
    display: Callable[[Path], str] | None = None
    root: Path | None = None
    """The copy of the revision's tree (``--ref``): what the manifests read must be under it,
    or it would come from this machine's files rather than from the revision."""


@contextlib.contextmanager
def manifests_at(paths: Sequence[Path], ref: str | None) -> Iterator[Snapshot]:
    """The PATHs as they are (``ref`` None), or as they are at ``ref``, for the duration of the
    ``with`` block."""
    if ref is None:
        yield Snapshot(tuple(paths))
        return
    import git

    if not ref or ref.startswith("-"):
        raise UsageError(f"--ref {ref!r}: not a revision (give a commit, tag or branch)")
    repo = _repo_of(paths[0])
    if repo is None:
        raise UsageError(f"--ref {ref}: {paths[0]} is not in a git repository")
    with repo:
        top = _work_tree(repo)
        if top is None:
            raise UsageError(f"--ref {ref}: {paths[0]} is not in a git working tree")
        try:
            commit = repo.commit(ref)
        except (git.BadName, git.BadObject, ValueError) as exc:
            raise UsageError(f"--ref {ref}: unknown revision in the repository {top}") from exc
        relative: list[Path] = []
        for path in paths:
            rel = _inside(path, top)
            if rel is None:
                raise UsageError(f"--ref {ref}: {path} is not inside the repository {top}")
            if rel.parts:
                try:
                    commit.tree / rel.as_posix()
                except KeyError:
                    raise UsageError(
                        f"--ref {ref}: {rel.as_posix()} does not exist at {ref} "
                        f"({commit.hexsha[: Source.SHORT]})"
                    ) from None
            relative.append(rel)
        source = Source(str(top), commit.hexsha, ref, dirty=False)
        with tempfile.TemporaryDirectory(prefix="reconciler-ref-") as temp:
            root = Path(temp) / "tree"
            _materialize(commit.tree, root)
            # The copy is the repository's root: the search for reconciler.yaml stops here, as
            # it stops at the root of a working tree (load.find_settings), never in /tmp.
            (root / ".git").mkdir(exist_ok=True)

            def display(path: Path) -> str:
                try:
                    return f"{ref}:{path.relative_to(root).as_posix()}"
                except ValueError:
                    return str(path)

            yield Snapshot(tuple(root / rel for rel in relative), source, display, root)


def working_tree_source(paths: Sequence[Path], also: Iterable[Path] = ()) -> Source | None:
    """The source of manifests read from the working tree: HEAD of the repository that holds
    the first PATH, dirty when the manifests (files under ``paths``; ``also`` inside the
    repository, for the files Registration manifests read) differ from it. None outside git or
    before the first commit."""
    repo = _repo_of(paths[0])
    if repo is None:
        return None
    with repo:
        top = _work_tree(repo)
        if top is None:
            return None
        try:
            commit = str(repo.head.commit.hexsha)
        except ValueError:  # no commit yet: there is nothing to claim
            return None
        specs: list[str] = []
        dirty = False
        for path in paths:
            rel = _inside(path, top)
            if rel is None:
                dirty = True  # manifests from outside the repository: the commit cannot hold them
            else:
                specs.append(_pathspec(rel))
        specs.extend(_pathspec(rel) for rel in (_inside(p, top) for p in also) if rel is not None)
        if not dirty:
            # --no-optional-locks: a report must not rewrite the index (git status refreshes it)
            changes = repo.git.execute(
                ["git", "--no-optional-locks", "status", "--porcelain", "-z", "--", *specs]
            )
            dirty = bool(changes)
        return Source(str(top), commit, None, dirty)


@contextlib.contextmanager
def settings_root_at(source: Source, root: Path) -> Iterator[Path | None]:
    """For ``apply --plan`` of a plan made with ``--ref``: a directory holding ``root``'s
    reconciler.yaml as it is at the plan's commit (for the ``with`` block), or None when the
    repository or the commit is not here (the plan was made elsewhere) or ``root`` is outside
    the repository."""
    import git

    from reconciler.config import SETTINGS_FILENAMES

    repo = _repo_of(Path(source.repo))
    if repo is None:
        yield None
        return
    with repo:
        top = _work_tree(repo)
        rel = _inside(root, top) if top is not None else None
        try:
            tree = repo.commit(source.commit).tree if rel is not None else None
        except (git.BadName, git.BadObject, ValueError):
            tree = None
        if tree is None or rel is None:
            yield None
            return
        with tempfile.TemporaryDirectory(prefix="reconciler-ref-") as temp:
            for name in SETTINGS_FILENAMES:
                try:
                    blob = tree / (rel / name).as_posix()
                except KeyError:
                    continue
                (Path(temp) / name).write_bytes(blob.data_stream.read())
            yield Path(temp)


def _repo_of(path: Path) -> Any:
    """The repository whose working tree holds ``path`` (which need not exist any more: a
    directory deleted since can still be read at an older revision), or None."""
    import git

    start = path.absolute()
    while not start.exists() and start != start.parent:
        start = start.parent
    if start.is_file():
        start = start.parent
    try:
        return git.Repo(start, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def _work_tree(repo: Any) -> Path | None:
    directory = repo.working_tree_dir
    return Path(directory).resolve() if directory is not None and not repo.bare else None


def _inside(path: Path, top: Path) -> Path | None:
    """``path`` relative to the repository's top, or None when it lies outside."""
    absolute = Path(os.path.normpath(path.absolute()))
    # resolve the longest existing part (symlinks, /tmp -> /private/tmp), keep the rest as given
    existing = absolute
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    resolved = existing.resolve() / absolute.relative_to(existing)
    try:
        return resolved.relative_to(top)
    except ValueError:
        return None


def _pathspec(rel: Path) -> str:
    # top: from the repository's root whatever the working directory; literal: no globbing
    return f":(top,literal){rel.as_posix()}" if rel.parts else ":(top)"


def _materialize(tree: Any, root: Path) -> None:
    """Write the files of a git tree under ``root`` from the object database. Submodules have
    no content here and are left empty; a symbolic link is kept only when it points inside the
    copy, so that nothing read from the revision can reach outside it."""
    root.mkdir(parents=True)
    for item in tree.traverse():
        target = root / item.path
        if item.type in {"tree", "submodule"}:
            target.mkdir(parents=True, exist_ok=True)
        elif item.type == "blob":
            target.parent.mkdir(parents=True, exist_ok=True)
            if item.mode == _SYMLINK:
                link = item.data_stream.read().decode("utf-8", "surrogateescape")
                pointed = os.path.normpath(os.path.join(os.path.dirname(target), link))
                if not os.path.isabs(link) and _within(Path(pointed), root):
                    os.symlink(link, target)
                continue
            with target.open("wb") as handle:
                item.stream_data(handle)
            if item.mode == _EXECUTABLE:
                target.chmod(0o755)


def _within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True
