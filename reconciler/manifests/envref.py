"""``${env:NAME}`` references in manifest strings.

A string may reference environment variables so that secrets stay out of git. References are
checked for form when manifests are validated and resolved only when a plan is made; values that
contain one are redacted in every output. ``$${`` writes a literal ``${``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}?")
_REFERENCE = re.compile(r"env:([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Malformed:
    text: str
    reason: str


def references(text: str) -> list[str] | Malformed:
    """Names referenced by ``text`` in order, or why one of its ``${...}`` is malformed."""
    names: list[str] = []
    for match in _TOKEN.finditer(text):
        if match.group(0) == "$${":
            continue
        token = match.group(0)
        if not token.endswith("}"):
            return Malformed(token, "is not closed with '}'")
        ref = _REFERENCE.fullmatch(match.group(1))
        if ref is None:
            return Malformed(
                token, "is not a valid reference; write ${env:NAME} (or $${ for a literal '${')"
            )
        names.append(ref.group(1))
    return names


def has_reference(text: str) -> bool:
    """Whether ``text`` is templated, so that format checks must wait for plan time."""
    found = references(text)
    return isinstance(found, Malformed) or bool(found)


def holds_template(data: Any) -> bool:
    """Whether any string in ``data`` (a document's plain data), a mapping key or a value,
    holds ``${``: only then is there a reference to check or resolve (most manifests have none,
    and walking them with paths is much slower than this)."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "${" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.values())
            pending.extend(key for key in item if isinstance(key, str))
        elif isinstance(item, list):
            pending.extend(item)
    return False


_SUBSTITUTE = re.compile(r"\$\$\{|\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


def substitute(text: str, environ: dict[str, str] | None, missing: list[str]) -> str:
    """``text`` with each ``${env:NAME}`` replaced; names not in ``environ`` are appended to
    ``missing`` (and left as they are). ``$${`` becomes ``${``."""
    env = environ or {}

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name = match.group(1)
        if name not in env:
            missing.append(name)
            return match.group(0)
        return env[name]

    return _SUBSTITUTE.sub(replace, text)
