"""``reconciler signals PATH...``: the signals the runs behind the manifests have created, with
their types and whether a value is set, so that a person sees what is waiting on them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TextIO

import click

from reconciler.admin.literals import literal_type_name
from reconciler.commands import Outcome
from reconciler.commands.reconcile_common import AdminOptions, connected, load_desired
from reconciler.manifests.execution import ExecutionManifest
from reconciler.manifests.signal import SignalManifest
from reconciler.plan.actual import EntityKey, Needs, fetch_actual
from reconciler.plan.common import decoded


@dataclass(frozen=True)
class SignalsOptions:
    admin: AdminOptions
    output: Literal["text", "json"] = "text"


def run_signals(options: SignalsOptions, environ: Mapping[str, str], out: TextIO) -> Outcome:
    desired, settings = load_desired(options.admin, environ)
    executions: set[EntityKey] = set()
    for item in desired.resolved:
        manifest = item.manifest
        if isinstance(manifest.model, ExecutionManifest):
            executions.add((manifest.project, manifest.domain, manifest.name))
        elif isinstance(manifest.model, SignalManifest):
            executions.add((manifest.project, manifest.domain, manifest.model.spec.execution))
    with connected(settings, options.admin.flags, environ) as (client, _):
        actual = fetch_actual(
            client, Needs(signals=frozenset(executions)), parallelism=settings.parallelism
        )
    rows: list[dict[str, Any]] = []
    for key in sorted(executions):
        for signal in sorted(actual.signals.get(key, []), key=lambda s: s.id.signal_id):
            is_set = signal.HasField("value") and signal.value.ByteSize() > 0
            rows.append(
                {
                    "execution": "/".join(key),
                    "signal": signal.id.signal_id,
                    "type": literal_type_name(signal.type),
                    "state": "set" if is_set else "waiting",
                    "value": decoded(signal.value, signal.type) if is_set else None,
                }
            )
    if options.output == "json":
        json.dump({"signals": rows}, out, indent=2, default=str)
        out.write("\n")
        return Outcome.SUCCESS
    if not rows:
        click.echo("No signals: none of these runs has reached a gate.", file=out)
    for row in rows:
        state = (
            click.style("waiting", fg="yellow", bold=True)
            if row["state"] == "waiting"
            else (f"set to {json.dumps(row['value'], default=str)}")
        )
        click.echo(f"{row['execution']}  {row['signal']}  ({row['type']})  {state}", file=out)
    return Outcome.SUCCESS
