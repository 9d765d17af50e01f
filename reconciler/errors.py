"""The reconciler's error tree.

Every error the tool raises on purpose derives from :class:`ReconcilerError`; its ``str()`` is a
message fit for a terminal: one line, except where a tool's own output is the message (a
``PackageError`` quotes what pyflyte printed, indented under its first line). The CLI
(``reconciler/cli.py``) is the only place that turns these into exit codes, and the only place
that prints them::

    ReconcilerError
    ├── UsageError           bad command-line input: a path that does not exist, conflicting flags
    ├── ConfigError          reconciler.yaml, a flytectl config, FLYTE_* variables or flags
    │                        cannot be used as given
    ├── InvalidManifestsError
    │                        manifests failed validation; carries every diagnostic, not the first
    ├── LiteralError         a value does not fit its Flyte type (or a literal cannot be read);
    │                        carries every problem, each naming the value's path and the type
    ├── PackageError         a Registration's package cannot be read or its source serialized
    ├── AuthError            no token could be had: token endpoint refused, secret missing,
    │                        external command failed, user did not log in
    └── AdminError           FlyteAdmin answered a call with an error status (message kept)
        ├── NotFound             NOT_FOUND
        ├── AlreadyExists        ALREADY_EXISTS
        ├── InvalidArgument      INVALID_ARGUMENT (also OUT_OF_RANGE)
        ├── FailedPrecondition   FAILED_PRECONDITION (also ABORTED)
        ├── Unauthenticated      UNAUTHENTICATED (after one token refresh)
        ├── PermissionDenied     PERMISSION_DENIED
        ├── Unavailable          UNAVAILABLE: unreachable endpoint or server going away
        ├── DeadlineExceeded     DEADLINE_EXCEEDED
        ├── ResourceExhausted    RESOURCE_EXHAUSTED
        ├── Unimplemented        UNIMPLEMENTED: this Admin does not serve the call
        └── InternalError        INTERNAL, UNKNOWN, DATA_LOSS, CANCELLED

gRPC status codes become ``AdminError`` subclasses in exactly one place,
``reconciler/admin/status.py``.

Problems inside manifests are not exceptions while they are being collected: the loader and the
validators return :class:`reconciler.diagnostics.Diagnostic` values so that one run reports all of
them (see STYLE.md, "collect problems"). ``InvalidManifestsError`` wraps the collected list when a
command cannot go on without valid manifests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.diagnostics import Diagnostic, FieldPath


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


@dataclass(frozen=True)
class LiteralProblem:
    """One place where a value does not fit its type: ``path`` as keys and indexes (``("spec",
    "inputs", "limit", 2)``, where a diagnostic goes), ``message`` without the path, and
    ``shown``, the path as messages write it (``spec.inputs.limit[2]``)."""

    path: FieldPath
    message: str
    shown: str

    def __str__(self) -> str:
        return f"{self.shown}: {self.message}"


class LiteralError(ReconcilerError):
    """Values do not fit their Flyte types, or literals cannot be read back.

    ``problems`` holds one :class:`LiteralProblem` per problem; ``str()`` joins them, each
    starting with the value's path (``inputs.limit[2]: expected int, got the string 'ten'``).
    """

    def __init__(self, problems: Sequence[LiteralProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class PackageError(ReconcilerError):
    """A ``pyflyte package`` archive or a source tree cannot be turned into entities."""


class AuthError(ReconcilerError):
    """No access token could be obtained; the message says from where and why."""


class AdminError(ReconcilerError):
    """Admin answered with an error status.

    ``str()`` reads ``<method>: <Admin's message>``; ``code`` is the gRPC status name and
    ``details`` Admin's message unchanged, for callers that match on it.
    """

    code = "UNKNOWN"
    attempts = 1
    """How many times the call was sent (set by ``AdminClient``; transient errors are retried)."""

    def __init__(self, message: str, *, method: str = "", details: str = "") -> None:
        self.method = method
        self.details = details or message
        super().__init__(f"{method}: {message}" if method else message)


class NotFound(AdminError):
    code = "NOT_FOUND"


class AlreadyExists(AdminError):
    code = "ALREADY_EXISTS"


class InvalidArgument(AdminError):
    code = "INVALID_ARGUMENT"


class FailedPrecondition(AdminError):
    code = "FAILED_PRECONDITION"


class Unauthenticated(AdminError):
    code = "UNAUTHENTICATED"


class PermissionDenied(AdminError):
    code = "PERMISSION_DENIED"


class Unavailable(AdminError):
    code = "UNAVAILABLE"


class DeadlineExceeded(AdminError):
    code = "DEADLINE_EXCEEDED"


class ResourceExhausted(AdminError):
    code = "RESOURCE_EXHAUSTED"


class Unimplemented(AdminError):
    code = "UNIMPLEMENTED"


class InternalError(AdminError):
    code = "INTERNAL"
