"""``reconciler outputs PATH... [--download DIR]``: the outputs of the runs behind Execution
manifests, as YAML values (the inverse of the input conversion, ``reconciler.admin.literals``),
and with ``--download`` their file and directory outputs fetched into
``DIR/<execution name>/<output name>``.

A run that has not succeeded has no outputs yet (or will have none): the report says so for that
run, which is not an error. Downloads go through DataProxy: ``CreateDownloadLocation`` signs a
URL for an output's native URL, then an HTTP GET fetches it. (``CreateDownloadLink``, the newer
call, only serves a node's deck in flyteadmin v1.16, so it cannot fetch outputs.) A directory
(multipart blob) is fetched file by file: its signed URL, where the store can list it (the local
Admin's answers with a ``text/uri-list`` of the files' native URLs), names the files, and each
is signed and fetched in turn. Object stores' signed URLs do not list prefixes, so against them
a directory output is reported as not downloaded, with its URI; a failed download makes the
command exit 1, after every other output was tried.

Redaction as in ``status``: every value the manifests resolve from ``${env:...}``, or that Admin
holds where they have a reference, is replaced by its reference before the report is built
(``reconciler.redact``).
"""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from flyteidl.admin import execution_pb2
from flyteidl.core import literals_pb2, types_pb2
from flyteidl.service import dataproxy_pb2
from google.protobuf import duration_pb2

from reconciler.admin.api import Admin
from reconciler.admin.client import fetch_all
from reconciler.commands import Outcome
from reconciler.commands.reconcile_common import AdminOptions, connected, load_desired, terminal
from reconciler.commands.status import held_in_admin, read_runs
from reconciler.diagnostics import FieldPath
from reconciler.errors import AdminError, ReconcilerError
from reconciler.kinds import execution as execution_kind
from reconciler.plan.common import decoded
from reconciler.read import EntityKey
from reconciler.redact import Redactor, held_values
from reconciler.render.outputs import (
    Download,
    OutputsReport,
    RunOutputs,
    render_json,
    render_text,
)

RENDERERS = {"text": render_text, "json": render_json}
URI_LIST = "text/uri-list"
SIGNED_FOR = duration_pb2.Duration(seconds=600)
TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class OutputsOptions:
    admin: AdminOptions
    output: Literal["text", "json"] = "text"
    download: Path | None = None


def run_outputs(options: OutputsOptions, environ: Mapping[str, str], out: TextIO) -> Outcome:
    person = terminal()
    desired, settings = load_desired(options.admin, environ, terminal=person)
    wanted: list[tuple[str, EntityKey]] = []  # (manifest address, run key)
    secrets: dict[str, Mapping[FieldPath, str]] = {}  # by manifest address
    for item in execution_kind.KIND.of(desired.resolved):
        address = item.manifest.address
        secrets[address] = item.secrets
        wanted.extend((address, key) for key in execution_kind.KIND.runs(item.manifest))
    with connected(settings, options.admin.flags, environ, terminal=person) as (client, _):
        actual = read_runs(client, desired.resolved, wanted, settings.parallelism)
        found = [(a, actual.executions[key]) for a, key in wanted if key in actual.executions]
        runs = fetch_all(
            lambda pair: _run(client, pair[0], pair[1], options.download),
            found,
            parallelism=settings.parallelism,
        )
    held = held_in_admin(desired.resolved, actual)
    for run, inputs in runs:  # the inputs Admin holds where the manifest has a reference
        held.extend(held_values({"inputs": inputs}, secrets.get(run.manifest, {}), ("spec",)))
    redactor = Redactor.of(desired.resolved, environ).holding(held)
    shown = tuple(_redacted(run, redactor) for run, _ in runs)
    missing = sorted({a for a, _ in wanted} - {r.manifest for r in shown})
    report = OutputsReport(shown, tuple(missing))
    RENDERERS[options.output](report, out)
    return Outcome.FAILURE if report.failed_downloads else Outcome.SUCCESS


def _run(
    client: Admin, address: str, execution: execution_pb2.Execution, download: Path | None
) -> tuple[RunOutputs, dict[str, Any]]:
    """One run's outputs (and downloads), or why there are none; and its inputs, which may
    hold values of secrets rotated since (for the redaction)."""
    phase = execution_kind.Phase.Name(execution.closure.phase)
    name = "/".join((execution.id.project, execution.id.domain, execution.id.name))
    if execution.closure.phase != execution_kind.Phase.SUCCEEDED:
        note = (
            f"not finished ({phase}): no outputs yet"
            if execution.closure.phase not in execution_kind.TERMINAL
            else f"ended {phase}: no outputs"
        )
        return RunOutputs(address, name, phase, None, note), {}
    try:
        data = client.get_execution_data(execution.id)
    except AdminError as exc:
        return RunOutputs(address, name, phase, None, f"Admin gave no outputs: {exc}"), {}
    literals = data.full_outputs.literals
    values = {k: decoded(v, None) for k, v in sorted(literals.items())}
    fetched: list[Download] = []
    if download is not None:
        for output, literal in sorted(literals.items()):
            blob = _blob(literal)
            if blob is not None:
                target = download / execution.id.name / output
                fetched.append(_download(client, output, blob, target))
    inputs = {k: decoded(v, None) for k, v in sorted(data.full_inputs.literals.items())}
    return RunOutputs(address, name, phase, values, downloads=tuple(fetched)), inputs


def _redacted(run: RunOutputs, redactor: Redactor) -> RunOutputs:
    return RunOutputs(
        run.manifest,
        run.execution,
        run.phase,
        redactor.scrub(run.outputs),
        redactor.scrub(run.note),
        tuple(
            Download(d.output, d.path, redactor.scrub(d.error) if d.error else None)
            for d in run.downloads
        ),
    )


def _blob(literal: literals_pb2.Literal) -> literals_pb2.Blob | None:
    """The blob a file or directory output holds (also inside ``Optional[...]``), or None."""
    scalar = literal.scalar if literal.HasField("scalar") else None
    if scalar is None:
        return None
    if scalar.HasField("blob"):
        return scalar.blob
    if scalar.HasField("union"):
        return _blob(scalar.union.value)
    return None


def _download(client: Admin, output: str, blob: literals_pb2.Blob, target: Path) -> Download:
    if "/" in output or output in ("", ".", ".."):
        return Download(output, None, "not a name a file can have")
    try:
        if blob.metadata.type.dimensionality == types_pb2.BlobType.MULTIPART:
            _fetch_directory(client, blob.uri, target)
        else:
            _save(_fetch(client, blob.uri)[1], target)
    except ReconcilerError as exc:
        return Download(output, None, str(exc))
    return Download(output, str(target))


def _fetch(client: Admin, native_url: str) -> tuple[str, bytes]:
    """(content type, body) of what a DataProxy-signed URL for ``native_url`` serves."""
    location = client.create_download_location(
        dataproxy_pb2.CreateDownloadLocationRequest(native_url=native_url, expires_in=SIGNED_FOR)
    )
    try:
        with urllib.request.urlopen(location.signed_url, timeout=TIMEOUT_SECONDS) as response:
            return str(response.headers.get_content_type()), bytes(response.read())
    except urllib.error.HTTPError as exc:
        raise ReconcilerError(f"fetching {native_url} failed: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ReconcilerError(f"fetching {native_url} failed: {exc}") from None


def _fetch_directory(client: Admin, native_url: str, target: Path) -> None:
    """Each file the directory's listing names, at its place under ``target``."""
    kind, body = _fetch(client, native_url)
    if kind != URI_LIST:
        raise ReconcilerError(
            f"{native_url} is a directory and the store gives no listing of it through "
            "DataProxy; copy it from there"
        )
    prefix = native_url.rstrip("/") + "/"
    for line in body.decode("utf-8").splitlines():
        url = line.strip()
        if not url or url.startswith("#"):
            continue  # RFC 2483: comments
        relative = urllib.parse.unquote(url.removeprefix(prefix))
        parts = relative.split("/")
        if not url.startswith(prefix) or any(p in ("", ".", "..") for p in parts):
            raise ReconcilerError(f"the listing of {native_url} names {url}, not a file in it")
        _save(_fetch(client, url)[1], target.joinpath(*parts))


def _save(data: bytes, target: Path) -> None:
    """Write the file whole or not at all."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=target.parent, prefix=f".{target.name}.", delete=False
        ) as handle:
            handle.write(data)
        os.replace(handle.name, target)
    except OSError as exc:
        raise ReconcilerError(f"cannot write {target}: {exc.strerror or exc}") from None
