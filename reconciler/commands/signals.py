"""``reconciler signals PATH...``: the signals the runs behind the manifests have created, with
their types and whether a value is set, so that a person sees what is waiting on them.

A gate of a run that has finished (succeeded, failed, aborted, timed out) waits for nothing any
more: it shows as not set, with the run's phase, never as waiting. Signal values come back from
Admin as they were sent, so a value a Signal manifest takes from ``${env:...}`` shows as the
reference, and any resolved secret elsewhere in the output is replaced by its reference
(``reconciler.redact``), before the report goes to a renderer
(``reconciler.render.signals``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TextIO

from reconciler.admin.literals import literal_type_name
from reconciler.commands import Outcome
from reconciler.commands.reconcile_common import AdminOptions, connected, load_desired, terminal
from reconciler.commands.status import held_in_admin
from reconciler.kinds import KINDS
from reconciler.kinds.execution import TERMINAL, Phase
from reconciler.kinds.signal import KIND as SIGNAL
from reconciler.plan.common import decoded
from reconciler.read import EntityKey, Needs, fetch_actual
from reconciler.redact import Redactor
from reconciler.render.signals import SignalRow, SignalsReport, render_json, render_text

RENDERERS = {"text": render_text, "json": render_json}


@dataclass(frozen=True)
class SignalsOptions:
    admin: AdminOptions
    output: Literal["text", "json"] = "text"


def run_signals(options: SignalsOptions, environ: Mapping[str, str], out: TextIO) -> Outcome:
    person = terminal()
    desired, settings = load_desired(options.admin, environ, terminal=person)
    redactor = Redactor.of(desired.resolved, environ)
    executions: set[EntityKey] = set()
    written: dict[tuple[EntityKey, str], str] = {}  # (execution, signal id): reference in git
    for kind in KINDS:
        for item in kind.of(desired.resolved):
            executions.update(kind.gates(item.manifest))
    for item in SIGNAL.of(desired.resolved):
        if ("spec", "value") in item.secrets:
            key = (item.manifest.project, item.manifest.domain, item.manifest.model.spec.execution)
            written[(key, item.manifest.model.spec.signal_id)] = item.secrets[("spec", "value")]
    with connected(settings, options.admin.flags, environ, terminal=person) as (client, _):
        # the runs too: a gate of a finished run is not waiting
        actual = fetch_actual(
            client,
            Needs(executions=frozenset(executions), signals=frozenset(executions)),
            parallelism=settings.parallelism,
        )
    rows: list[SignalRow] = []
    for key in sorted(executions):
        run = actual.executions.get(key)
        phase = run.closure.phase if run is not None else Phase.UNDEFINED
        for signal in sorted(actual.signals.get(key, []), key=lambda s: s.id.signal_id):
            is_set = signal.HasField("value") and signal.value.ByteSize() > 0
            value = decoded(signal.value, signal.type) if is_set else None
            if is_set and (key, signal.id.signal_id) in written:
                value = written[(key, signal.id.signal_id)]
            rows.append(
                SignalRow(
                    execution="/".join(key),
                    signal=signal.id.signal_id,
                    type=literal_type_name(signal.type),
                    state="set" if is_set else "not set" if phase in TERMINAL else "waiting",
                    value=value,
                    run_phase=Phase.Name(phase),
                )
            )
    redactor = redactor.holding(held_in_admin(desired.resolved, actual))
    report = SignalsReport(tuple(_redacted(row, redactor) for row in rows))
    RENDERERS[options.output](report, out)
    return Outcome.SUCCESS


def _redacted(row: SignalRow, redactor: Redactor) -> SignalRow:
    """The row with any resolved secret left in it (a value Admin echoes from elsewhere than
    the Signal manifest) replaced by its reference."""
    fields = {f.name: redactor.scrub(getattr(row, f.name)) for f in dataclasses.fields(row)}
    return SignalRow(**fields)
