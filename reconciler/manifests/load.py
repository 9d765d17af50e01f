"""Load a manifest tree: find the files, read the settings, parse every manifest, check the tree.

Nothing here stops at the first problem: every file is read and every document parsed, and the
result carries all diagnostics next to the manifests that did parse.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.config import SETTINGS_FILENAMES, Settings
from reconciler.diagnostics import Diagnostic, FieldPath, Location, Severity, has_errors
from reconciler.errors import InvalidManifestsError
from reconciler.manifests.base import ManifestBase
from reconciler.manifests.parse import parse_manifest, validate_model
from reconciler.manifests.signal import SignalManifest
from reconciler.manifests.yamlread import Document, read_file

MANIFEST_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Manifest:
    """A validated manifest and the document it came from."""

    model: ManifestBase
    document: Document
    source: Path

    @property
    def kind(self) -> str:
        return self.model.KIND

    @property
    def project(self) -> str:
        return self.model.project

    @property
    def domain(self) -> str:
        return self.model.domain

    @property
    def name(self) -> str:
        return self.model.name

    @functools.cached_property  # asked for all the time when planning; the model is frozen
    def address(self) -> str:
        """``Kind/project/domain/name``; signals are addressed by execution and signal id."""
        if isinstance(self.model, SignalManifest):
            spec = self.model.spec
            return f"Signal/{self.project}/{self.domain}/{spec.execution}/{spec.signal_id}"
        return f"{self.kind}/{self.project}/{self.domain}/{self.name}"

    def location(self, *path: str | int, key: bool = False) -> Location:
        return self.document.location(path, key=key)

    def diagnostic(
        self,
        path: FieldPath,
        message: str,
        *,
        key: bool = False,
        severity: Severity = Severity.ERROR,
    ) -> Diagnostic:
        return Diagnostic(self.document.location(path, key=key), message, path, severity)


@dataclass(frozen=True)
class ManifestTree:
    manifests: tuple[Manifest, ...]
    settings: Settings
    settings_file: Path | None
    files: tuple[Path, ...]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)

    @property
    def files_read(self) -> int:
        """Manifest files plus the settings file."""
        return len(self.files) + (self.settings_file is not None)


def load_tree(
    paths: Sequence[Path],
    environment: str | None = None,
    *,
    display: Callable[[Path], str] | None = None,
) -> ManifestTree:
    """Read every manifest under ``paths`` and the ``reconciler.yaml`` at their root.

    ``display`` names files in diagnostics (default: relative to the working directory); a
    tree read from a git revision names them ``REV:path`` rather than by a temporary copy.
    Raises ``ConfigError`` only for an unknown ``environment``; everything wrong with the files
    themselves comes back as diagnostics.
    """
    from reconciler.manifests.checks import check_tree  # checks import Manifest from here

    show = display or _display
    diagnostics: list[Diagnostic] = []
    settings_files, files = _discover(paths, diagnostics, show)
    settings, settings_file = _read_settings(settings_files, diagnostics, show)
    settings = settings.for_environment(environment)
    manifests: list[Manifest] = []
    for path in files:
        manifests.extend(_read_manifests(path, settings, diagnostics, show))
    if not files and not diagnostics:
        shown = ", ".join(show(p) for p in paths)
        diagnostics.append(Diagnostic(Location(shown), "no manifest files (*.yaml, *.yml) found"))
    diagnostics.extend(check_tree(manifests))
    diagnostics.sort(key=Diagnostic.sort_key)
    return ManifestTree(tuple(manifests), settings, settings_file, tuple(files), tuple(diagnostics))


def load_settings(root: Path, environment: str | None = None) -> tuple[Settings, Path | None]:
    """Only the ``reconciler.yaml`` that applies to ``root`` (see ``find_settings``), for
    commands without manifests."""
    diagnostics: list[Diagnostic] = []
    settings, path = _read_settings(find_settings(root), diagnostics)
    if has_errors(diagnostics):
        raise InvalidManifestsError(diagnostics)
    return settings.for_environment(environment), path


def find_settings(start: Path) -> list[Path]:
    """The settings file that applies to ``start`` (a manifest file or directory): the nearest
    ``reconciler.yaml`` in its directory or above, as git finds ``.git`` and pre-commit its
    config, so that ``validate manifests/prod`` gets the defaults of ``manifests/``.

    The search stops at the root of the git repository that holds ``start`` (the directory
    with ``.git``), so a checkout never picks up a file from outside it; outside any repository
    it goes up to the filesystem root. Several files in the one directory (``.yaml`` and
    ``.yml``) are all returned, for the caller to refuse. Paths are relative to the working
    directory when below it, as in messages.
    """
    if not start.exists():
        return []
    directory = start.resolve()
    if not directory.is_dir():
        directory = directory.parent
    for candidate in (directory, *directory.parents):
        found = [candidate / name for name in SETTINGS_FILENAMES if (candidate / name).is_file()]
        # .git is a directory in a clone and a file in a worktree or submodule
        if found or (candidate / ".git").exists():
            return [Path(_display(path)) for path in found]
    return []


def _display(path: Path) -> str:
    """Paths in messages: relative to the working directory when below it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if relative.startswith("..") else relative


def _discover(
    paths: Sequence[Path], diagnostics: list[Diagnostic], show: Callable[[Path], str]
) -> tuple[list[Path], list[Path]]:
    settings: list[Path] = []
    files: list[Path] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        resolved = path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            files.append(path)

    for root in paths:
        if root.is_dir():
            settings.extend(find_settings(root))
            for path in _walk(root):
                if path.name in SETTINGS_FILENAMES and path.parent != root:
                    # Its manifests would get other defaults when passed on their own than as
                    # part of this tree; one tree has one set of settings.
                    diagnostics.append(
                        Diagnostic(
                            Location(show(path)),
                            f"{path.name} is only read at the root of a manifest tree or "
                            f"above it; pass {show(path.parent)} as its own path or move "
                            "this file",
                        )
                    )
                elif path.parent != root or path.name not in SETTINGS_FILENAMES:
                    add(path)
        elif root.is_file():
            if root.name in SETTINGS_FILENAMES:
                settings.append(root)
            else:
                settings.extend(find_settings(root))
                add(root)
        else:
            diagnostics.append(Diagnostic(Location(show(root)), "no such file or directory"))
    return _unique(settings), files


def _walk(root: Path) -> list[Path]:
    """YAML files under ``root`` sorted by path, skipping hidden files and folders."""
    found: list[Path] = []
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = [d for d in subdirs if not d.startswith(".")]
        found.extend(
            Path(directory) / name
            for name in names
            if name.endswith(MANIFEST_SUFFIXES) and not name.startswith(".")
        )
    return sorted(found, key=lambda path: path.relative_to(root).parts)


def _unique(paths: list[Path]) -> list[Path]:
    found: dict[Path, Path] = {}
    for path in paths:
        found.setdefault(path.resolve(), path)
    return list(found.values())


def _read_settings(
    candidates: list[Path], diagnostics: list[Diagnostic], show: Callable[[Path], str] = _display
) -> tuple[Settings, Path | None]:
    if not candidates:
        return Settings(), None
    if len(candidates) > 1:
        shown = ", ".join(show(p) for p in candidates)
        diagnostics.append(
            Diagnostic(
                Location(show(candidates[1])),
                f"several settings files ({shown}); manifests share one reconciler.yaml",
            )
        )
    path = candidates[0]
    read = read_file(path, show(path))
    diagnostics.extend(read.diagnostics)
    documents = [d for d in read.documents if d.data is not None]
    if len(documents) > 1:
        diagnostics.append(
            Diagnostic(documents[1].location(), "reconciler.yaml holds one document, not several")
        )
    if not documents:
        return Settings(), path
    parsed = validate_model(documents[0], Settings, documents[0].data)
    if isinstance(parsed, list):
        diagnostics.extend(parsed)
        return Settings(), path
    # The file may be found from a directory below it, or from anywhere with an explicit path:
    # its own paths must mean the same whatever the working directory.
    return parsed.anchored(path.resolve().parent), path


def _read_manifests(
    path: Path, settings: Settings, diagnostics: list[Diagnostic], show: Callable[[Path], str]
) -> Iterable[Manifest]:
    display = show(path)
    read = read_file(path, display)
    diagnostics.extend(read.diagnostics)
    documents = [d for d in read.documents if d.data is not None]
    if not documents and not read.diagnostics:
        diagnostics.append(Diagnostic(Location(display), "file holds no manifests"))
    for document in documents:
        parsed = parse_manifest(
            document, project=settings.defaults.project, domain=settings.defaults.domain
        )
        if isinstance(parsed, list):
            diagnostics.extend(parsed)
        else:
            yield Manifest(parsed, document, path)
