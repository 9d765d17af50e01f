"""Where a pass reads its manifests.

A source hands each pass a :class:`Revision`: the paths to plan from and the commit they are
at. ``LocalSource`` is PATH in the local tree (kept current by whoever owns it: a person, a
git-sync sidecar). ``GitSource`` (``--repo URL --branch B [--path DIR]``) keeps a clone of its
own in a cache directory and fetches the branch at the start of every pass; the branch tip is
what the pass reads. A fetch that fails fails the pass: nothing stale is used silently.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from reconciler.errors import ReconcilerError, UsageError
from reconciler.manifests.source import working_tree_source


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
        found = working_tree_source(self.paths)
        return Revision(self.paths, found.commit if found is not None else None)

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


class GitSource:
    def __init__(self, url: str, branch: str, path: Path, cache: Path) -> None:
        if path.is_absolute() or ".." in path.parts:
            raise UsageError(f"--path {path}: a directory inside the repository")
        self.url = url
        self._branch = branch
        self.path = path
        self.clone = cache / hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]

    def branch(self) -> str | None:
        return self._branch

    def describe(self) -> dict[str, Any]:
        return {"repo": redact(self.url), "branch": self._branch, "path": str(self.path)}

    def checkout(self) -> Revision:
        import git

        remote = f"refs/remotes/origin/{self._branch}"
        try:
            repo = self._repository()
            repo.git.fetch("--prune", "origin", f"+refs/heads/{self._branch}:{remote}")
            tip = repo.commit(remote).hexsha
            # our own clone: the branch tip, exactly (nothing left from an earlier pass)
            repo.git.checkout("--force", "--detach", tip)
            repo.git.clean("-ffdx")
        except (git.GitCommandError, git.BadName, ValueError) as exc:
            raise ReconcilerError(
                f"cannot fetch branch {self._branch} of {redact(self.url)}: {_git_error(exc)}"
            ) from None
        root = Path(repo.working_tree_dir or self.clone) / self.path
        if not root.exists():
            raise ReconcilerError(f"--path {self.path} does not exist at {tip[:12]}")
        return Revision((root,), str(tip))

    def _repository(self) -> Any:
        import git

        if (self.clone / ".git").is_dir():
            repo = git.Repo(self.clone)
            if repo.remotes.origin.url != self.url:
                repo.remotes.origin.set_url(self.url)
            return repo
        self.clone.parent.mkdir(parents=True, exist_ok=True)
        return git.Repo.clone_from(self.url, self.clone, no_checkout=True)


def redact(url: str) -> str:
    """A repository URL without credentials (``https://token@host/...``)."""
    parts = urlsplit(url)
    if parts.scheme and (parts.username or parts.password):
        host = parts.hostname or ""
        netloc = host + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _git_error(exc: Exception) -> str:
    stderr = str(getattr(exc, "stderr", "") or exc)
    text = " ".join(line.strip() for line in stderr.splitlines() if line.strip())
    text = re.sub(r"^stderr: ", "", text.strip()).strip("'")
    return re.sub(r"://[^/@\s]+@", "://", text)  # credentials git may echo back
