"""What ``signals`` prints: the gates the runs behind the manifests have reached, with their
types and states (text for people, JSON for tools).

The command builds the report redacted (``reconciler.redact``): a value set from
``${env:...}`` arrives here as its reference."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TextIO

import click


@dataclass(frozen=True)
class SignalRow:
    """One signal of one run. ``state``: ``set`` (``value`` holds it), ``waiting`` (the run
    waits on it) or ``not set`` (the run finished without it; ``run_phase`` says how)."""

    execution: str
    signal: str
    type: str
    state: str
    value: Any
    run_phase: str

    def to_json(self) -> dict[str, Any]:
        return {
            "execution": self.execution,
            "signal": self.signal,
            "type": self.type,
            "state": self.state,
            "value": self.value,
            "run_phase": self.run_phase,
        }


@dataclass(frozen=True)
class SignalsReport:
    signals: tuple[SignalRow, ...]


def render_json(report: SignalsReport, out: TextIO) -> None:
    json.dump({"signals": [s.to_json() for s in report.signals]}, out, indent=2, default=str)
    out.write("\n")


def render_text(report: SignalsReport, out: TextIO) -> None:
    if not report.signals:
        click.echo("No signals: none of these runs has reached a gate.", file=out)
    for row in report.signals:
        if row.state == "waiting":
            state = click.style("waiting", fg="yellow", bold=True)
        elif row.state == "not set":
            state = f"not set; run {row.run_phase}"
        else:
            state = f"set to {json.dumps(row.value, default=str)}"
        click.echo(f"{row.execution}  {row.signal}  ({row.type})  {state}", file=out)
