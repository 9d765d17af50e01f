"""Keep values that came from ``${env:...}`` out of what the report commands print from Admin.

Admin hands back what apply sent it, secrets included: a run's inputs, a signal's value, and any
message that quotes them. Two rules, applied in this order (DESIGN.md: values from the
environment are redacted in every output):

1. By origin: a value whose manifest field is an ``${env:...}`` reference is shown as the
   reference as written in git (``${env:TOKEN}``). The commands apply this where they know the
   manifest field behind a value (an Execution's inputs, a Signal's value).
2. Defence in depth, by content (``Redactor.scrub``): every value the manifests resolved from
   the environment is replaced by its reference wherever it appears in the output (inputs that
   came from a launch plan's defaults, outputs, error messages, ...). A string equal to such a
   value is always replaced; inside longer text only values of at least ``MIN_EMBEDDED``
   characters are, since masking every ``eu`` in free text would garble it while hiding little.

Admin holds the values of the apply that sent them, which may be secrets rotated since: the
environment of this run does not know them. ``Redactor.holding`` learns them from what Admin
holds where the manifest has a reference (a run's input, env var, label or annotation, a
signal's value): ``prefix-${env:TOKEN}`` against ``prefix-old`` gives ``old`` for
``${env:TOKEN}``, so content scrubbing finds it everywhere else (outputs, error messages).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.diagnostics import FieldPath
from reconciler.manifests.envref import references
from reconciler.manifests.resolve import Resolved

MIN_EMBEDDED = 4


@dataclass(frozen=True)
class Redactor:
    """The values resolved from the environment, each with the reference that produced it,
    longest first (so that a value containing another is replaced whole)."""

    values: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, resolved: Iterable[Resolved], environ: Mapping[str, str]) -> Redactor:
        found: dict[str, str] = {}
        for item in resolved:
            for template in item.secrets.values():
                names = references(template)
                if not isinstance(names, list):
                    continue  # resolve refused it, so nothing was resolved from it
                for name in names:
                    value = environ.get(name, "")
                    if value:
                        found.setdefault(value, f"${{env:{name}}}")
        ordered = sorted(found.items(), key=lambda item: (-len(item[0]), item[0]))
        return cls(tuple(ordered))

    def holding(self, held: Iterable[tuple[str, Any]]) -> Redactor:
        """This redactor knowing the values of references Admin holds too: ``held`` pairs a
        text as written in git (``Bearer ${env:TOKEN}``) with the value Admin keeps there."""
        found = dict(self.values)
        for template, value in held:
            for name, secret in _unresolved(template, value).items():
                if secret:
                    found.setdefault(secret, f"${{env:{name}}}")
        ordered = sorted(found.items(), key=lambda item: (-len(item[0]), item[0]))
        return Redactor(tuple(ordered))

    def scrub(self, value: Any) -> Any:
        """``value`` (plain data: dicts, lists, strings, numbers) with every resolved secret
        replaced by its reference; a new value, the argument is not changed."""
        if not self.values:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int | float):
            # a number equal to a secret (an input typed int fed from the environment)
            shown = str(value)
            return next((ref for secret, ref in self.values if secret == shown), value)
        if isinstance(value, Mapping):
            return {self.scrub(k): self.scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub(v) for v in value]
        return value

    def text(self, text: str) -> str:
        for secret, reference in self.values:
            if text == secret:
                return reference
        for secret, reference in self.values:
            if len(secret) >= MIN_EMBEDDED and secret in text:
                text = text.replace(secret, reference)
        return text


def held_values(
    view: Any, secrets: Mapping[FieldPath, str], prefix: FieldPath
) -> list[tuple[str, Any]]:
    """(text as written, value held) for each path of ``secrets`` under ``prefix`` that the
    manifest-shaped ``view`` of an Admin object (sitting at ``prefix``) has a value at."""
    held = []
    for path, template in secrets.items():
        if path[: len(prefix)] != prefix:
            continue
        value: Any = view
        for part in path[len(prefix) :]:
            if isinstance(value, dict) and part in value:
                value = value[part]
            else:
                break
        else:
            held.append((template, value))
    return held


def _unresolved(template: str, value: Any) -> dict[str, str]:
    """The value each ``${env:NAME}`` of ``template`` had when it gave ``value``; empty when
    ``value`` does not have the template's shape. ``$${`` stands for a literal ``${``."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return {}
    text = value if isinstance(value, str) else str(value)
    names = references(template)
    if not isinstance(names, list) or not names:
        return {}
    pattern = []
    seen: set[str] = set()
    for piece in _PIECES.split(template):
        if not piece:
            continue
        match = _ONE_REFERENCE.fullmatch(piece)
        if match is None:
            pattern.append(re.escape("${" if piece == "$${" else piece))
        elif match.group(1) in seen:
            pattern.append(f"(?P={match.group(1)})")
        else:
            seen.add(match.group(1))
            pattern.append(f"(?P<{match.group(1)}>.*?)")
    found = re.fullmatch("".join(pattern), text, re.DOTALL)
    return {} if found is None else {k: v for k, v in found.groupdict().items() if v}


_ONE_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
_PIECES = re.compile(r"(\$\$\{|\$\{env:[A-Za-z_][A-Za-z0-9_]*\})")
