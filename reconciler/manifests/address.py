"""``Address``: which resource a manifest, a change or a result is about.

Written ``Kind/project/domain/name`` (``Signal/project/domain/execution/signalId`` for a
signal): the form plans, saved plans and results carry (DESIGN.md, "Plan output"). Code that
needs a part of one parses it here, once, instead of splitting strings.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Address:
    """A resource's address; ``signal_id`` only for signals (``name`` is then the execution)."""

    kind: str
    project: str
    domain: str
    name: str
    signal_id: str | None = None

    @classmethod
    def parse(cls, text: str) -> Address:
        """The address ``text`` writes; ``ValueError`` when it is not one."""
        parts = text.split("/")
        if len(parts) == 5 and parts[0] == "Signal" and all(parts):
            kind, project, domain, name, signal_id = parts
            return cls(kind, project, domain, name, signal_id)
        if len(parts) != 4 or not all(parts):
            raise ValueError(f"{text!r} is not an address (Kind/project/domain/name)")
        kind, project, domain, name = parts
        return cls(kind, project, domain, name)

    @staticmethod
    def kind_of(text: str) -> str:
        """The kind an address names, even one this build cannot parse further (a state file
        written by another version)."""
        return text.partition("/")[0]

    def __str__(self) -> str:
        head = f"{self.kind}/{self.project}/{self.domain}/{self.name}"
        return head if self.signal_id is None else f"{head}/{self.signal_id}"
