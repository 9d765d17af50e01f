"""The manifest tree the reliability tests apply: 64 resources of every kind in two projects and
two domains, registered from a real ``pyflyte package`` of the example workflows.

It comes in two stages, as two commits of one repository would:

``base``
    the production domains only: the package registered, launch plans (``weekly_report``
    inactive), plain runs, runs that fail and are to be recovered or relaunched, gated runs and a
    three-day backfill.
``full``
    the development domains added (everything created there), and in production: a new version
    of ``daily_report`` (its default ``limit`` changed, so a new ``auto`` version replaces the
    active one), ``weekly_report`` activated, one gated run terminated, a new run, the backfill
    extended by two days (its run ``-2``) and a new one, the first gate approved.

Applied to ``base`` once and moved on in time (the runs fail, the gates are reached), ``full``
asks for every kind of write apply makes: registrations (upload, tasks, workflows, launch
plans), launch plan creation and activation (deactivating the previous version), launches,
recover, relaunch, terminate, backfill workflows and runs, and signals.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / "manifests-examples" / "workflows"
PROJECTS = ("flytesnacks", "analytics")
PRODUCTION = tuple((p, "production") for p in PROJECTS)
DEVELOPMENT = tuple((p, "development") for p in PROJECTS)
OWNER = "reliability-tests"


def build_package(output: Path) -> Path:
    """``pyflyte package`` of the example workflows (``reports.daily``, ``reports.release``)."""
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "pyflyte"),
            "--pkgs",
            "reports",
            "package",
            "--copy",
            "auto",
            "--output",
            str(output),
            "--force",
            "--image",
            "python:3.11-slim",
        ],
        cwd=WORKFLOWS,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pyflyte package failed:\n{done.stdout}{done.stderr}")
    return output


def _documents(project: str, domain: str, stage: str, package: Path) -> list[str]:
    full = stage == "full"
    where = f"project: {project}, domain: {domain}"
    limit = 20 if full else 10
    docs = [
        f"""kind: Registration
metadata: {{name: reports, {where}}}
spec: {{package: {package}, version: auto}}""",
        f"""kind: LaunchPlan
metadata: {{name: daily_report, {where}}}
spec:
  version: auto
  workflow: {{name: reports.daily.report}}
  active: true
  schedule: {{cron: "0 6 * * *", kickoffTimeInputArg: run_date}}
  defaultInputs: {{region: eu, limit: {limit}}}
  labels: {{team: analytics}}""",
        f"""kind: LaunchPlan
metadata: {{name: publish_report, {where}}}
spec:
  version: auto
  workflow: {{name: reports.release.publish_report}}
  active: true""",
        f"""kind: LaunchPlan
metadata: {{name: weekly_report, {where}}}
spec:
  version: auto
  workflow: {{name: reports.daily.report}}
  active: {"true" if full else "false"}
  schedule: {{cron: "0 7 * * MON", kickoffTimeInputArg: run_date}}
  defaultInputs: {{region: global, limit: 50}}""",
    ]
    for name, day in (("adhoc-1", 1), ("adhoc-2", 2)):
        docs.append(
            f"""kind: Execution
metadata: {{name: {name}, {where}}}
spec:
  launchPlan: {{name: daily_report}}
  inputs: {{run_date: 2026-11-{day:02d}T00:00:00Z}}
  labels: {{requested-by: data-science}}"""
        )
    for action in ("recover", "relaunch"):
        # fails once (localadmin/fail-attempts defaults to 1), so one attempt is due
        docs.append(
            f"""kind: Execution
metadata: {{name: flaky-{action}, {where}}}
spec:
  launchPlan: {{name: daily_report}}
  inputs: {{run_date: 2026-11-03T00:00:00Z}}
  labels: {{localadmin/fail-node: fetch_sales}}
  onFailure: {{action: {action}, maxAttempts: 2}}"""
        )
    for name, month in (("close-a", "2026-10"), ("close-b", "2026-11")):
        state = "terminated" if full and name == "close-b" else "launched"
        docs.append(
            f"""kind: Execution
metadata: {{name: {name}, {where}}}
spec:
  launchPlan: {{name: publish_report}}
  inputs: {{month: "{month}"}}
  state: {state}"""
        )
    end = "2026-10-05" if full else "2026-10-03"
    docs.append(
        f"""kind: Backfill
metadata: {{name: daily-oct, {where}}}
spec:
  launchPlan: {{name: daily_report}}
  from: 2026-10-01T06:00:00Z
  to: {end}T06:00:00Z
  parallel: false
  failurePolicy: continue"""
    )
    if full:
        docs.append(
            f"""kind: Execution
metadata: {{name: adhoc-3, {where}}}
spec:
  launchPlan: {{name: daily_report}}
  inputs: {{run_date: 2026-11-04T00:00:00Z, region: us}}"""
        )
        docs.append(
            f"""kind: Execution
metadata: {{name: close-c, {where}}}
spec:
  launchPlan: {{name: publish_report}}
  inputs: {{month: "2026-12"}}"""
        )
        docs.append(
            f"""kind: Backfill
metadata: {{name: daily-sep, {where}}}
spec:
  launchPlan: {{name: daily_report}}
  from: 2026-09-28T06:00:00Z
  to: 2026-09-30T06:00:00Z
  parallel: true"""
        )
        for run in ("close-a", "close-c"):
            docs.append(
                f"""kind: Signal
metadata: {{name: approve-{run}, {where}}}
spec: {{execution: {run}, signalId: release_ok, approve: true}}"""
            )
    return docs


def write_tree(root: Path, package: Path, stage: str = "full") -> Path:
    """The manifests of ``stage`` under ``root`` (replacing what a previous stage wrote)."""
    if stage not in ("base", "full"):
        raise ValueError(stage)
    root.mkdir(parents=True, exist_ok=True)
    (root / "reconciler.yaml").write_text(f"ownerId: {OWNER}\nparallelism: 10\n")
    pairs = PRODUCTION + (DEVELOPMENT if stage == "full" else ())
    for old in root.glob("*/*.yaml"):
        old.unlink()
    for project, domain in pairs:
        docs = _documents(project, domain, stage, package)
        path = root / project / f"{domain}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text("".join(f"---\napiVersion: reconciler/v1\n{d}\n" for d in docs))
    return root


def resource_count(stage: str = "full") -> int:
    pairs = PRODUCTION + (DEVELOPMENT if stage == "full" else ())
    return sum(len(_documents(p, d, stage, Path("x.tgz"))) for p, d in pairs)
