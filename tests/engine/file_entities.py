"""flytekit tasks and a workflow with file and directory inputs and outputs, for the tests of
local file inputs and ``reconciler outputs``. Their bodies never run: the local Admin simulates
execution (engine.py)."""

from __future__ import annotations

from flytekit import task, workflow
from flytekit.types.directory import FlyteDirectory
from flytekit.types.file import FlyteFile


@task
def summarize(data: FlyteFile, folder: FlyteDirectory, limit: int) -> tuple[FlyteFile, int]:
    return data, limit


@task
def collect(folder: FlyteDirectory) -> FlyteDirectory:
    return folder


@workflow
def crunch(
    data: FlyteFile, folder: FlyteDirectory, limit: int = 3
) -> tuple[FlyteFile, int, FlyteDirectory]:
    report, count = summarize(data=data, folder=folder, limit=limit)
    return report, count, collect(folder=folder)
