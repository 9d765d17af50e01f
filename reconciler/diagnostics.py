"""Problems found in manifests, each tied to a file, line, column and field path.

A diagnostic renders as ``file:line:column: field.path: message``, the format editors, CI
annotations and ``grep`` understand.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

FieldPath = tuple[str | int, ...]


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Location:
    """A position in a file, 1-based like every editor."""

    file: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


def format_path(path: FieldPath) -> str:
    """``('spec', 'labels', 'app.io/x', 0)`` -> ``spec.labels["app.io/x"][0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.replace("_", "a").isalnum() and part[:1].isalpha():
            out += f".{part}" if out else part
        else:
            out += f"[{_quote(part)}]"
    return out


def _quote(text: str) -> str:
    """A key as a double-quoted string on one line: what a terminal cannot show plainly (line
    breaks, NUL, bidi controls) is escaped as Python escapes it."""
    inner = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text.replace("\\", "\\\\"))
    return '"' + inner.replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Diagnostic:
    location: Location
    message: str
    path: FieldPath = ()
    severity: Severity = Severity.ERROR

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        prefix = "" if self.is_error else "warning: "
        field = format_path(self.path)
        where = f"{field}: " if field else ""
        return f"{self.location}: {prefix}{where}{self.message}"

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.location.file, self.location.line, self.location.column, self.message)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)
