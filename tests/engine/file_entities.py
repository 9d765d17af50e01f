"""flytekit tasks and a workflow with file and directory inputs and outputs, and an Execution
manifest that runs it from local files, for the tests of local file inputs and ``reconciler
outputs``. The bodies never run: the local Admin simulates execution (engine.py)."""

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


LAUNCH_PLAN = f"{__name__}.crunch"
RUN = """\
apiVersion: reconciler/v1
kind: Execution
metadata: {name: NAME}
spec:
  launchPlan: {name: LAUNCH_PLAN, version: v1}
  inputs:
    data: {path: DATA}
    folder: {path: ./data/parts}
"""
CONTENT = b"region,amount\neu,10\nus,20\n"


def run_manifest(name: str = "crunch-jan", data: str = "data/jan.csv") -> str:
    """An Execution of ``crunch`` from ``data`` and the directory ``data/parts``."""
    return RUN.replace("NAME", name).replace("LAUNCH_PLAN", LAUNCH_PLAN).replace("DATA", data)
