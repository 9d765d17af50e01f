"""Where a pass reads its manifests.

A source hands each pass a :class:`Revision`: the paths to plan from and the commit they are
at. ``LocalSource`` is PATH in the local tree (kept current by whoever owns it: a person, a
git-sync sidecar). A git source (``--repo URL --branch B``: a clone fetched at the start of each
pass) provides the same interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from reconciler.commands.reconcile_common import git_commit


@dataclass(frozen=True)
class Revision:
    paths: tuple[Path, ...]
    commit: str | None  # None: not in a git repository


class Source(Protocol):
    def checkout(self) -> Revision:
        """The manifests as this pass sees them; raises ``ReconcilerError`` when it cannot
        (a pass never silently uses something stale)."""
        ...

    def branch(self) -> str | None:
        """The branch whose pushes trigger a pass; None: any push."""
        ...

    def describe(self) -> dict[str, Any]: ...


class LocalSource:
    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = tuple(paths)

    def checkout(self) -> Revision:
        return Revision(self.paths, git_commit(self.paths))

    def branch(self) -> str | None:
        import git

        for path in self.paths:
            try:
                repo = git.Repo(
                    path if path.is_dir() else path.parent, search_parent_directories=True
                )
                return str(repo.active_branch.name)
            except (git.InvalidGitRepositoryError, git.NoSuchPathError, TypeError, ValueError):
                continue  # not a repository, or a detached HEAD
        return None

    def describe(self) -> dict[str, Any]:
        return {"paths": [str(p) for p in self.paths], "branch": self.branch()}
