"""Validate 2,000 generated manifests and print how long it takes.

    python bench/validate_bench.py [--manifests N] [--repeat R]

Generates a realistic tree (launch plans with schedules, labels and inputs, executions that
reference them, a few backfills and signals) in a temporary directory, then times
``load_tree`` in-process (the best of R runs) and the ``reconciler validate`` command as a
fresh process (what CI and pre-commit pay, interpreter start-up included).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from reconciler.manifests.load import load_tree

LAUNCH_PLAN = """\
apiVersion: reconciler/v1
kind: LaunchPlan
metadata:
  name: report_{i}
  domain: {domain}
spec:
  version: v{i}
  workflow: {{name: reports.daily.report, version: v1}}
  active: true
  schedule:
    cron: "{minute} 6 * * *"
    kickoffTimeInputArg: run_date
  defaultInputs: {{region: eu, limit: {i}}}
  fixedInputs: {{source: warehouse}}
  labels: {{team: analytics, index: "{i}"}}
  notifications:
    - phases: [FAILED, TIMED_OUT]
      slack: ["#data-alerts"]
---
"""
EXECUTION = """\
apiVersion: reconciler/v1
kind: Execution
metadata:
  name: run-{i}
  domain: {domain}
spec:
  launchPlan: {{name: report_{i}, version: v{i}}}
  inputs: {{run_date: 2026-11-30T00:00:00Z, region: us}}
  labels: {{ticket: fin-{i}}}
  onFailure: {{action: recover, maxAttempts: 2}}
---
"""


def generate(root: Path, count: int) -> None:
    (root / "reconciler.yaml").write_text("defaults: {project: bench, domain: development}\n")
    per_file = 20
    for start in range(0, count, per_file):
        domain = "production" if (start // per_file) % 2 else "development"
        text = ""
        for i in range(start, min(start + per_file, count)):
            template = LAUNCH_PLAN if i % 2 == 0 else EXECUTION
            # executions reference the launch plan declared just before them
            index = i if i % 2 == 0 else i - 1
            text += template.format(i=index, minute=index % 60, domain=domain)
        folder = root / domain
        folder.mkdir(exist_ok=True)
        (folder / f"m{start:05d}.yaml").write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifests", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        generate(root, args.manifests)
        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            tree = load_tree([root])
            timings.append(time.perf_counter() - started)
        if not tree.ok or len(tree.manifests) != args.manifests:
            sys.exit(f"benchmark tree did not validate: {[str(d) for d in tree.diagnostics[:5]]}")
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "reconciler", "validate", str(root)],
            capture_output=True,
            text=True,
            check=False,
        )
        command = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(done.stdout + done.stderr)
    best = min(timings)
    print(f"validate: {args.manifests} manifests in {len(tree.files)} files")
    print(
        f"  in-process load_tree: best {best:.3f} s of {args.repeat} "
        f"({args.manifests / best:,.0f} manifests/s)"
    )
    print(f"  `reconciler validate` process, start-up included: {command:.3f} s")


if __name__ == "__main__":
    main()
