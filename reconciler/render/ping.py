"""What ``ping`` prints: the Admin it reached, its version, and the projects visible to us."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True)
class PingReport:
    endpoint: str
    version: str
    projects: tuple[str, ...]


def render_text(report: PingReport, out: TextIO) -> None:
    out.write(f"FlyteAdmin at {report.endpoint}: version {report.version}\n")
    projects = ", ".join(report.projects) if report.projects else "(none visible)"
    out.write(f"projects: {projects}\n")
