"""Summarize a file given as an input: in the manifests it is a local path, which apply uploads
through DataProxy (content-addressed, so an unchanged file is not uploaded again), and the run
gets its remote URI. The summary comes back as a file output (`reconciler outputs --download`)."""

from __future__ import annotations

from pathlib import Path

from flytekit import current_context, task, workflow
from flytekit.types.file import FlyteFile


@task
def summarize(data: FlyteFile) -> FlyteFile:
    lines = Path(data.download()).read_text("utf-8").splitlines()
    out = Path(current_context().working_directory) / "summary.txt"
    out.write_text(f"{len(lines) - 1} rows, columns: {lines[0]}\n", "utf-8")
    return FlyteFile(str(out))


@workflow
def summarize_file(data: FlyteFile) -> FlyteFile:
    return summarize(data=data)
