"""``reconciler status PATH...``: the runs behind Execution and Backfill manifests: phase,
duration, inputs and outputs (as YAML values), error, console URL and timing spans.

Admin returns a run's inputs as apply sent them, values from ``${env:...}`` included, so every
row is redacted before it goes into the report (``reconciler.redact``): an input the
manifest gives as a reference shows as the reference, and any resolved secret left anywhere in
the row (outputs, error messages) is replaced by its reference too. The renderers
(``reconciler.render.status``) only ever see the redacted report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal, TextIO

from flyteidl.admin import execution_pb2
from flyteidl.core import execution_pb2 as core_execution
from flyteidl.core import metrics_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from reconciler.admin.api import Admin
from reconciler.admin.client import fetch_all
from reconciler.admin.console import console_url
from reconciler.commands import Outcome
from reconciler.commands.reconcile_common import AdminOptions, connected, load_desired, terminal
from reconciler.diagnostics import FieldPath
from reconciler.errors import AdminError
from reconciler.kinds import KINDS
from reconciler.kinds.base import union
from reconciler.manifests.resolve import Resolved
from reconciler.plan.common import decoded
from reconciler.read import Actual, EntityKey, Needs, fetch_actual
from reconciler.redact import Held, Redactor, held_values, redact
from reconciler.render.status import RunStatus, StatusReport, render_json, render_text

Phase = core_execution.WorkflowExecution.Phase


RENDERERS = {"text": render_text, "json": render_json}


@dataclass(frozen=True)
class StatusOptions:
    admin: AdminOptions
    output: Literal["text", "json"] = "text"


def run_status(options: StatusOptions, environ: Mapping[str, str], out: TextIO) -> Outcome:
    person = terminal()
    desired, settings = load_desired(options.admin, environ, terminal=person)
    redactor = Redactor.of(desired.resolved, environ)
    secrets: dict[str, Mapping[FieldPath, str]] = {}  # by manifest address
    wanted: list[tuple[str, EntityKey]] = []  # (manifest address, run key)
    for item in desired.resolved:
        secrets[item.manifest.address] = item.secrets
    for kind in KINDS:
        for item in kind.of(desired.resolved):
            address = item.manifest.address
            wanted.extend((address, key) for key in kind.runs(item.manifest))
    session = connected(settings, options.admin.flags, environ, terminal=person)
    with session as (client, connection):
        actual = read_runs(client, desired.resolved, wanted, settings.parallelism)
        found = [
            (address, actual.executions[key]) for address, key in wanted if key in actual.executions
        ]
        rows = fetch_all(
            lambda pair: describe(
                client, pair[1], address=pair[0], console=connection.console_endpoint
            ),
            found,
            parallelism=settings.parallelism,
        )
    held = held_in_admin(desired.resolved, actual)
    for row in rows:  # the inputs Admin holds where the manifest has a reference
        if isinstance(row.get("inputs"), dict):
            view = {"inputs": row["inputs"]}
            held.extend(held_values(view, secrets.get(row["manifest"], {}), ("spec",)))
    redactor = redactor.holding(held)
    shown = [_redacted(row, secrets.get(row["manifest"], {}), redactor) for row in rows]
    missing = sorted({a for a, _ in wanted} - {r["manifest"] for r in shown})
    report = StatusReport(tuple(RunStatus.from_json(r) for r in shown), tuple(missing))
    RENDERERS[options.output](report, out)
    return Outcome.SUCCESS


def read_runs(
    client: Admin,
    resolved: Iterable[Resolved],
    wanted: Iterable[tuple[str, EntityKey]],
    parallelism: int,
) -> Actual:
    """The runs ``wanted`` names ((manifest address, run key) pairs), and the signals that
    Signal manifests set from ``${env:...}``: Admin holds their values, which may come back in
    what is reported (a gate passes its value on as an output), so the redaction learns them
    (``held_in_admin``); each kind says what it needs read for that (``Kind.held_needs``)."""
    resolved = list(resolved)
    runs = Needs(executions=frozenset(key for _, key in wanted))
    held = (kind.held_needs(item) for kind in KINDS for item in kind.of(resolved))
    return fetch_actual(client, union([runs, *held]), parallelism=parallelism)


def held_in_admin(resolved: Iterable[Resolved], actual: Actual) -> list[Held]:
    """What Admin holds where the manifests have ``${env:...}`` references (each kind says what:
    ``Kind.held``), each with the reference as written: the values of the apply that sent them,
    maybe secrets rotated since (``Redactor.holding``)."""
    return [
        pair
        for kind in KINDS
        for item in kind.of(resolved)
        if item.secrets
        for pair in kind.held(item, actual)
    ]


def describe(
    client: Admin,
    execution: execution_pb2.Execution,
    *,
    address: str = "",
    console: str | None = None,
) -> dict[str, Any]:
    """One run as plain data: what ``status`` prints and ``-o json`` returns."""
    closure = execution.closure
    row: dict[str, Any] = {
        "manifest": address,
        "execution": "/".join((execution.id.project, execution.id.domain, execution.id.name)),
        "phase": Phase.Name(closure.phase),
        "started_at": _time(closure.started_at) if closure.HasField("started_at") else None,
        "duration_seconds": closure.duration.ToTimedelta().total_seconds()
        if closure.HasField("duration")
        else None,
        "error": closure.error.message if closure.HasField("error") else None,
        "console_url": console_url(console, execution.id),
    }
    try:
        data = client.get_execution_data(execution.id)
        row["inputs"] = {k: decoded(v, None) for k, v in sorted(data.full_inputs.literals.items())}
        row["outputs"] = {
            k: decoded(v, None) for k, v in sorted(data.full_outputs.literals.items())
        }
    except AdminError as exc:
        row["inputs"] = row["outputs"] = None
        row["data_error"] = str(exc)
    try:
        metrics = client.get_execution_metrics(execution.id, depth=2)
        row["spans"] = _spans(metrics.span)
    except AdminError:
        row["spans"] = None  # not every Admin serves metrics
    return row


def _redacted(
    row: dict[str, Any], secrets: Mapping[FieldPath, str], redactor: Redactor
) -> dict[str, Any]:
    """The row as it may be printed: inputs the manifest gives as ``${env:...}`` show as the
    reference (recovery and relaunch attempts reuse the same inputs), then any resolved secret
    left anywhere in its values is replaced by its reference (the row's own keys are names
    of this tool's, not Admin's data)."""
    if isinstance(row.get("inputs"), dict):
        redact(row["inputs"], secrets, ("spec", "inputs"))
    return {key: redactor.scrub(value) for key, value in row.items()}


def _spans(span: metrics_pb2.Span) -> dict[str, Any]:
    which = span.WhichOneof("id") or ""
    ident = getattr(span, which) if which else None
    name = (
        getattr(ident, "node_id", None) or getattr(ident, "name", None) or str(which)
        if ident is not None
        else ""
    )
    if which == "operation_id":
        name = span.operation_id
    out: dict[str, Any] = {
        "what": f"{which.removesuffix('_id')}:{name}" if which else "span",
        "seconds": (span.end_time.ToDatetime() - span.start_time.ToDatetime()).total_seconds()
        if span.HasField("end_time") and span.HasField("start_time")
        else None,
    }
    if span.spans:
        out["spans"] = [_spans(s) for s in span.spans]
    return out


def _time(stamp: Timestamp) -> str:
    moment: datetime = stamp.ToDatetime(tzinfo=timezone.utc)
    return moment.isoformat().replace("+00:00", "Z")
