"""Keep values that came from ``${env:...}`` out of what the tool shows: plans and reports.

The one place for the rules; ``reconciler.plan.secrets`` is the other side, the requests a plan
carries (which must hold no secret and get them back at apply). A manifest's resolved
references are ``Resolved.secrets`` (field path -> text as written in git).

Admin hands back what apply sent it, secrets included: a run's inputs, a signal's value, and any
message that quotes them. Two rules, applied in this order (DESIGN.md: values from the
environment are redacted in every output):

1. By origin (:func:`redact`): a value whose manifest field is an ``${env:...}`` reference is
   shown as the reference as written in git (``${env:TOKEN}``). The kinds apply this to plan
   views and the commands to reports, where they know the manifest field behind a value (an
   Execution's inputs, a Signal's value).
2. By content, where a value sits at a path the manifest does not write as a reference:
   :func:`mask_values` in plans replaces whole strings equal to a resolved value (exactly, so
   that diffs stay true); ``Redactor.scrub`` in reports is defence in depth: every value the
   manifests resolved from the environment is replaced by its reference wherever it appears
   (inputs that came from a launch plan's defaults, outputs, error messages, ...). A string
   equal to such a value is always replaced; inside longer text only values of at least
   ``MIN_EMBEDDED`` characters are, since masking every ``eu`` in free text would garble it
   while hiding little.

Admin holds the values of the apply that sent them, which may be secrets rotated since: the
environment of this run does not know them. ``Redactor.holding`` learns them from what Admin
holds where the manifest has a reference (:func:`held_values`; each kind says what that is,
``Kind.held``): ``prefix-${env:TOKEN}`` against ``prefix-old`` gives ``old`` for
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

Held = tuple[str, object]
"""(text as written in git, the value Admin holds where the manifest has it)."""


# --------------------------------------------------------------------------------------------
# By origin, in manifest-shaped views: the field the manifest writes as a reference


def redact(view: dict[str, Any], secrets: Mapping[FieldPath, str], prefix: FieldPath) -> None:
    """Replace, in a manifest-shaped view, each value that came from ``${env:...}`` by the
    reference as written (in place). ``prefix`` is where the view sits in the manifest."""
    for path, written in secrets.items():
        if path[: len(prefix)] != prefix:
            continue
        target: Any = view
        rest = path[len(prefix) :]
        for part in rest[:-1]:
            if not isinstance(target, dict) or part not in target:
                target = None
                break
            target = target[part]
        if isinstance(target, dict) and rest and rest[-1] in target:
            target[rest[-1]] = written


def held_values(view: object, secrets: Mapping[FieldPath, str], prefix: FieldPath) -> list[Held]:
    """(text as written, value held) for each path of ``secrets`` under ``prefix`` that the
    manifest-shaped ``view`` of an Admin object (sitting at ``prefix``) has a value at: what
    :func:`redact` would replace, read instead (``Redactor.holding`` learns secrets from it)."""
    held: list[Held] = []
    for path, template in secrets.items():
        if path[: len(prefix)] != prefix:
            continue
        value = view
        for part in path[len(prefix) :]:
            if isinstance(value, dict) and part in value:
                value = value[part]
            else:
                break
        else:
            held.append((template, value))
    return held


# --------------------------------------------------------------------------------------------
# By content: a resolved value wherever it appears


def mask_values(value: Any, values: Mapping[str, str]) -> Any:
    """``value`` with every string equal to a resolved secret replaced by its reference as
    written: for what comes back from Admin, where a secret may sit at a path that holds none
    in the manifest today.

    For plans, not reports: whole strings only, keys and numbers untouched, lists stay lists.
    Plan views are compared and diffed, and a masked view must differ from the manifest's
    exactly where Admin's object does; ``Redactor.scrub`` goes further for reports, which are
    only shown."""
    if isinstance(value, str):
        return values.get(value, value)
    if isinstance(value, dict):
        return {k: mask_values(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_values(v, values) for v in value]
    return value


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

    def holding(self, held: Iterable[Held]) -> Redactor:
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
        replaced by its reference; a new value, the argument is not changed.

        For reports, not plans (see :func:`mask_values`): also inside longer text, in keys and
        numbers, since a report only has to never show a secret, not to compare with anything.
        Any: the value keeps its shape, except that a number equal to a secret becomes its
        reference (a string) and a tuple a list."""
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


def _unresolved(template: str, value: object) -> dict[str, str]:
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
