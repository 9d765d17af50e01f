"""A small YAML writer for the fuzz tests: it can write what PyYAML's dumper never does.

Generated documents are trees of :class:`Map`, :class:`Seq`, :class:`Scalar` (written exactly as
given) and :class:`Alias`, so a test can put anchors anywhere, repeat a key, use merge keys
(``<<``), tags, flow or block style, and any scalar spelling; :func:`dump` turns them into text.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any, Union

Node = Union["Map", "Seq", "Scalar", "Alias"]


@dataclass(eq=False)  # hashable by identity: a Scalar may be a key of a generated dict
class Scalar:
    """A scalar written verbatim: plain (``42``, ``true``), quoted, or tagged (``!!str 3``)."""

    text: str


@dataclass
class Alias:
    name: str


@dataclass
class Map:
    pairs: list[tuple[Node, Node]] = field(default_factory=list)
    anchor: str | None = None
    flow: bool = False


@dataclass
class Seq:
    items: list[Node] = field(default_factory=list)
    anchor: str | None = None
    flow: bool = True


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
_PLAIN_LOOKS_TYPED = re.compile(
    r"(?i)(y|yes|n|no|true|false|on|off|null|~|[-+.0-9].*|<<|=)", re.ASCII
)


_ESCAPED = re.compile('[\\\\"\x00-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]')


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in '\\"':
        return "\\" + char
    code = ord(char)
    return f"\\u{code:04x}" if code > 0xFF else f"\\x{code:02x}"


def quote(text: str) -> str:
    """A double-quoted YAML scalar for ``text``. Characters YAML cannot hold raw are escaped;
    lone surrogates and other unrepresentable code points are escaped too (libyaml refuses them,
    which is one of the things the fuzz tests want to happen)."""
    return '"' + _ESCAPED.sub(_escape, text) + '"'


def scalar(value: Any) -> Scalar:
    """The natural YAML spelling of a plain Python value."""
    if value is None:
        return Scalar("null")
    if isinstance(value, bool):
        return Scalar("true" if value else "false")
    if isinstance(value, int):
        return Scalar(str(value))
    if isinstance(value, float):
        if math.isnan(value):
            return Scalar(".nan")
        if math.isinf(value):
            return Scalar(".inf" if value > 0 else "-.inf")
        text = repr(value)
        return Scalar(text if any(c in text for c in ".eE") else text + ".0")
    if isinstance(value, dt.datetime | dt.date):
        return Scalar(value.isoformat())
    if isinstance(value, str):
        if _PLAIN.fullmatch(value) and not _PLAIN_LOOKS_TYPED.fullmatch(value):
            return Scalar(value)
        return Scalar(quote(value))
    raise TypeError(f"no YAML spelling for {type(value).__name__}")


def from_python(value: Any) -> Node:
    """Plain data as nodes; nodes already in it (a tagged scalar, say) are kept as they are."""
    if isinstance(value, Map | Seq | Scalar | Alias):
        return value
    if isinstance(value, dict):
        return Map([(from_python(k), from_python(v)) for k, v in value.items()])
    if isinstance(value, list | tuple):
        return Seq([from_python(v) for v in value])
    return scalar(value)


def dump(documents: list[Node], *, explicit_start: bool = True) -> str:
    parts = []
    for index, document in enumerate(documents):
        if explicit_start or index:
            parts.append("---\n")
        parts.append(_top(document))
    return "".join(parts)


def _top(node: Node) -> str:
    if isinstance(node, Map) and not node.flow and node.pairs:
        head = f"&{node.anchor}\n" if node.anchor else ""
        return head + "".join(_block_pairs(node.pairs, 0))
    return _flow(node) + "\n"


def _block_pairs(pairs: list[tuple[Node, Node]], indent: int) -> list[str]:
    pad = " " * indent
    lines = []
    for key, value in pairs:
        head = f"{pad}{_key(key)}:"
        if isinstance(value, Map) and not value.flow and value.pairs:
            anchor = f" &{value.anchor}" if value.anchor else ""
            lines.append(head + anchor + "\n")
            lines.extend(_block_pairs(value.pairs, indent + 2))
        elif isinstance(value, Seq) and not value.flow and value.items:
            anchor = f" &{value.anchor}" if value.anchor else ""
            lines.append(head + anchor + "\n")
            lines.extend(f"{pad}  - {_flow(item)}\n" for item in value.items)
        else:
            lines.append(f"{head} {_flow(value)}\n")
    return lines


def _key(node: Node) -> str:
    # an alias name may contain ':', so the colon after an alias key needs a space before it
    return _flow(node) + (" " if isinstance(node, Alias) else "")


def _flow(node: Node) -> str:
    if isinstance(node, Scalar):
        return node.text
    if isinstance(node, Alias):
        return f"*{node.name}"
    anchor = f"&{node.anchor} " if node.anchor else ""
    if isinstance(node, Map):
        inner = ", ".join(f"{_key(k)}: {_flow(v)}" for k, v in node.pairs)
        return anchor + "{" + inner + "}"
    return anchor + "[" + ", ".join(_flow(item) for item in node.items) + "]"
