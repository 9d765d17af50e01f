"""The reconciler's error tree.

Every error the tool raises on purpose derives from :class:`ReconcilerError`; its ``str()`` is a
one-line message fit for a terminal. The CLI (``reconciler/cli.py``) is the only place that turns
these into exit codes, and the only place that prints them::

    ReconcilerError
    ├── UsageError           bad command-line input: a path that does not exist, conflicting flags
    ├── ConfigError          reconciler.yaml (or another settings source) cannot be used
    └── InvalidManifestsError
                             manifests failed validation; carries every diagnostic, not the first

Problems inside manifests are not exceptions while they are being collected: the loader and the
validators return :class:`reconciler.diagnostics.Diagnostic` values so that one run reports all of
them (see STYLE.md, "collect problems"). ``InvalidManifestsError`` wraps the collected list when a
command cannot go on without valid manifests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.diagnostics import Diagnostic


class ReconcilerError(Exception):
    """Base of every error the reconciler raises on purpose."""


class UsageError(ReconcilerError):
    """The command line asks for something that cannot be done as asked."""


class ConfigError(ReconcilerError):
    """A settings source (reconciler.yaml, flags, environment) is invalid or inconsistent."""


class InvalidManifestsError(ReconcilerError):
    """Manifests did not validate; ``diagnostics`` holds every problem found."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        errors = sum(1 for d in self.diagnostics if d.is_error)
        super().__init__(f"{errors} invalid manifest problem(s)")
