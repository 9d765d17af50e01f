"""Plan 1,000 manifests against the local Admin with injected per-RPC latency, and in the same
run read the same entities the naive way, one FlyteRemote fetch per entity.

    python bench/plan_bench.py [--launch-plans 500] [--executions 500] [--latency 0.02]

The launch plans and executions are first created with ``apply`` (no latency), so the timed
plan is the steady-state one a CI job pays: nothing to change. Calls are counted on the server.
"""

from __future__ import annotations

import argparse
import io
import logging
import sys
import tempfile
import time
from pathlib import Path

import grpc
from flyteidl.service import admin_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import DOMAIN, PROJECT, CallMeter, register_workflow

from reconciler.commands.apply import ApplyOptions, run_apply
from reconciler.commands.reconcile_common import AdminOptions, compute_plan
from reconciler.config import ConnectionFlags
from reconciler.localadmin import LocalAdmin, ManualClock


def write_manifests(root: Path, launch_plans: int, executions: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "reconciler.yaml").write_text(
        f"defaults: {{project: {PROJECT}, domain: {DOMAIN}}}\nownerId: bench\nparallelism: 8\n"
    )
    lps = "".join(
        "apiVersion: reconciler/v1\nkind: LaunchPlan\n"
        f"metadata: {{name: lp-{i}}}\n"
        "spec:\n  version: v1\n  workflow: {name: wf, version: v1}\n"
        f"  defaultInputs: {{a: {i}, region: eu}}\n  labels: {{team: t{i % 7}}}\n---\n"
        for i in range(launch_plans)
    )
    runs = "".join(
        "apiVersion: reconciler/v1\nkind: Execution\n"
        f"metadata: {{name: run-{i}}}\n"
        f"spec:\n  launchPlan: {{name: lp-{i % launch_plans}, version: v1}}\n"
        f"  inputs: {{a: {i}}}\n---\n"
        for i in range(executions)
    )
    (root / "launchplans.yaml").write_text(lps)
    (root / "executions.yaml").write_text(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launch-plans", type=int, default=500)
    parser.add_argument("--executions", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every RPC")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    meter = CallMeter()
    with (
        tempfile.TemporaryDirectory() as temp,
        LocalAdmin(
            clock=ManualClock(), data_dir=Path(temp) / "data", interceptors=[meter], workers=16
        ) as admin,
    ):
        with grpc.insecure_channel(admin.endpoint) as channel:
            register_workflow(admin_pb2_grpc.AdminServiceStub(channel))
        root = Path(temp) / "manifests"
        write_manifests(root, args.launch_plans, args.executions)
        options = AdminOptions((root,), ConnectionFlags(admin.endpoint, True))
        setup = run_apply(ApplyOptions(options, auto_approve=True), {}, io.StringIO())
        if setup.value != "success":
            sys.exit("setup apply failed")

        meter.latency = args.latency
        meter.reset()
        started = time.perf_counter()
        planned = compute_plan(options, {})
        ours = time.perf_counter() - started
        ours_calls = meter.total
        if planned.plan.has_changes:
            sys.exit("the timed plan was expected to be empty")

        from flytekit.configuration import Config
        from flytekit.remote import FlyteRemote

        remote = FlyteRemote(
            Config.for_endpoint(admin.endpoint, insecure=True),
            default_project=PROJECT,
            default_domain=DOMAIN,
        )
        remote.client  # noqa: B018  # connect before timing
        meter.reset()
        started = time.perf_counter()
        for i in range(args.launch_plans):
            remote.fetch_launch_plan(name=f"lp-{i}", version="v1")
        for i in range(args.executions):
            remote.fetch_execution(name=f"run-{i}")
        naive = time.perf_counter() - started
        naive_calls = meter.total
        naive_by_method = dict(meter.calls)

    total = args.launch_plans + args.executions
    print(
        f"plan of {total} manifests ({args.launch_plans} launch plans, {args.executions} "
        f"executions), {args.latency * 1000:.0f} ms added per RPC"
    )
    print(f"  reconciler plan:           {ours:7.2f} s  {ours_calls:5d} RPCs")
    print(f"  naive FlyteRemote fetches: {naive:7.2f} s  {naive_calls:5d} RPCs  {naive_by_method}")
    fewer = naive_calls / max(ours_calls, 1)
    print(f"  ratio: {naive / ours:.1f}x less wall time, {fewer:.1f}x fewer RPCs")


if __name__ == "__main__":
    main()
