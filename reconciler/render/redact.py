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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

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
