"""``--shard I/N``: which project/domains one of N replicas reconciles.

A project/domain belongs to shard ``sha256("project/domain") mod N``: stable across processes,
machines and Python versions (unlike ``hash()``), and independent of the tree's other contents,
so adding a manifest elsewhere never moves a project/domain from one replica to another. A
replica keeps only the manifests of its own project/domains, so it reads from Admin only what
they name (and, for ``--prune``, only its own project/domains' launch plans).

``--shard-from-hostname`` takes I from the pod's hostname, as a Kubernetes StatefulSet names
its pods ``<name>-0``, ``<name>-1``, ...; N still comes from ``--shard``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from reconciler.errors import UsageError

_ORDINAL = re.compile(r"-(\d+)$")


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise UsageError(f"--shard {self.index}/{self.count}: need 0 <= I < N and N >= 1")

    @classmethod
    def parse(cls, text: str) -> Shard:
        index, slash, count = text.partition("/")
        if not slash or not index.isdigit() or not count.isdigit():
            raise UsageError(f"--shard {text!r}: write I/N, as in 0/3")
        return cls(int(index), int(count))

    def with_hostname(self, hostname: str) -> Shard:
        """This shard's count, with the index from a StatefulSet pod's ordinal."""
        found = _ORDINAL.search(hostname.split(".", 1)[0])
        if found is None:
            raise UsageError(
                f"--shard-from-hostname: hostname {hostname!r} does not end in -ORDINAL "
                "(a StatefulSet pod's name does)"
            )
        return Shard(int(found.group(1)), self.count)

    def owns(self, project: str, domain: str) -> bool:
        return owner(project, domain, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def owner(project: str, domain: str, count: int) -> int:
    digest = hashlib.sha256(f"{project}/{domain}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count
