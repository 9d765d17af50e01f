"""Apply throughput: a plan of N execution creates applied at several parallelisms against the
local Admin with injected per-RPC latency, as a separate process, and in the same run the naive
way, one FlyteRemote ``execute`` per run.

    python bench/apply_bench.py [--executions 1000] [--parallelism 1,10,32] [--latency 0.02]
                                [--naive-sample 100] [--json FILE] [--before CHECKOUT]

Per parallelism, a fresh local Admin: the plan (N Execution manifests of the workflow's default
launch plan) is made with ``reconciler plan --out`` and no latency, then ``apply_plan`` of that
plan is timed in a child process with the latency on; then the same plan is applied to a stub
Admin that answers at once (so that only the latency and the client's own work count, as with
a real Admin on other machines; the local Admin shares this machine's cores with the client).
Calls are counted on the server; the floor is RPCs x latency / parallelism. The naive loop
runs ``--naive-sample`` executes one by one and is extrapolated linearly to N (marked so in the
output). The same apply at the highest parallelism with no latency shows what CPU alone takes
on this machine (the client's and the local Admin's).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import (
    BENCH,
    DOMAIN,
    PROJECT,
    child_env,
    machine,
    own_cpu,
    run_child,
    served_admin,
    stub_admin,
)


def write_executions(root: Path, count: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "reconciler.yaml").write_text(
        f"defaults: {{project: {PROJECT}, domain: {DOMAIN}}}\nownerId: bench\n"
    )
    (root / "executions.yaml").write_text(
        "".join(
            "apiVersion: reconciler/v1\nkind: Execution\n"
            f"metadata: {{name: run-{i}}}\n"
            "spec:\n  launchPlan: {name: wf, version: v1}\n"
            f"  inputs: {{a: {i}, region: eu}}\n---\n"
            for i in range(count)
        )
    )


def measure(
    executions: int, parallelism: int, latency: float, code: Path | None = None
) -> dict[str, Any]:
    """``apply_plan`` of ``executions`` creates on a fresh local Admin, then the same plan
    against the stub Admin; ``code`` is the root of the checkout whose ``reconciler`` applies
    (default: this one)."""
    with tempfile.TemporaryDirectory() as temp_name:
        temp = Path(temp_name)
        env = child_env(temp)
        client_env = child_env(temp, code) if code is not None else env
        root = temp / "manifests"
        write_executions(root, executions)
        plan_file = temp / "plan.json"
        with served_admin(temp) as (admin, meter):
            target = ["--endpoint", admin.endpoint, "--insecure"]
            run_child(
                ["-m", "reconciler", "plan", str(root), *target, "--out", str(plan_file)],
                env,
            )
            local = _apply(plan_file, admin.endpoint, parallelism, latency, meter, client_env)
        with stub_admin() as (endpoint, meter):
            stub = _apply(plan_file, endpoint, parallelism, latency, meter, client_env)
    for result in (local, stub):
        if result["failed"] or result["changes"] != executions:
            sys.exit(f"apply at parallelism {parallelism} failed: {result}")
    return {"executions": executions, **local, "stub": stub}


def _apply(
    plan_file: Path,
    endpoint: str,
    parallelism: int,
    latency: float,
    meter: Any,
    env: dict[str, str],
) -> dict[str, Any]:
    meter.latency = latency
    meter.reset()
    admin_cpu = own_cpu()
    client = [str(BENCH / "_client.py"), "apply", str(plan_file), endpoint]
    run = run_child([*client, "--parallelism", str(parallelism)], env)
    admin_cpu = own_cpu() - admin_cpu
    rpcs, by_method = meter.total, dict(meter.calls)
    meter.latency = 0.0
    result = run.json()
    # the client's GetVersion before the clock starts is not part of the apply
    applied = rpcs - by_method.get("GetVersion", 0)
    return {
        "parallelism": parallelism,
        "latency": latency,
        "apply": result["apply"],
        "apply_cpu": result["apply_cpu"],
        "changes": result["changes"],
        "failed": result["failed"],
        "wall": run.wall,
        "cpu": run.cpu,
        "admin_cpu": admin_cpu,
        "rpcs": applied,
        "rpcs_by_method": by_method,
        "floor": applied * latency / parallelism,
    }


def naive(executions: int, sample: int, latency: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as temp_name:
        temp = Path(temp_name)
        with served_admin(temp) as (admin, meter):
            meter.latency = latency
            meter.reset()
            count = min(sample, executions)
            run = run_child(
                [str(BENCH / "_client.py"), "naive-apply", admin.endpoint, "--count", str(count)],
                child_env(temp),
            )
            calls, by_method = meter.total, dict(meter.calls)
            meter.latency = 0.0
    scale = executions / count
    # the launch plan and its workflow are fetched once, before the loop; the rest is per run
    once = by_method.get("GetLaunchPlan", 0) + by_method.get("GetWorkflow", 0)
    return {
        "seconds": run.json()["naive"] * scale,
        "rpcs": once + round((calls - once) * scale),
        "rpcs_by_method": by_method,
        "sample": count,
        "sampled": count < executions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=1000)
    parser.add_argument("--parallelism", default="1,10,32", help="comma-separated")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every RPC")
    parser.add_argument("--naive-sample", type=int, default=100)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument(
        "--before",
        type=Path,
        help="root of another checkout whose reconciler package to time the same way",
    )
    args = parser.parse_args()
    print(
        f"apply of {args.executions:,} execution creates, {args.latency * 1000:.0f} ms added "
        "per RPC"
    )
    results = []
    for parallelism in (int(p) for p in args.parallelism.split(",")):
        result = measure(args.executions, parallelism, args.latency)
        if args.before is not None:
            result["before"] = measure(args.executions, parallelism, args.latency, args.before)
        results.append(result)
        print(
            f"  parallelism {parallelism:3d}: {result['apply']:6.2f} s "
            f"({args.executions / result['apply']:6.1f} creates/s), {result['rpcs']} RPCs, "
            f"floor {result['floor']:5.2f} s, {result['apply'] / result['floor']:.2f}x the floor; "
            f"CPU: client {result['apply_cpu']:.2f} s applying ({result['cpu']:.2f} s in all), "
            f"local Admin {result['admin_cpu']:.2f} s"
        )
        stub = result["stub"]
        print(
            f"    against the stub Admin: {stub['apply']:6.2f} s, "
            f"{stub['apply'] / stub['floor']:.2f}x the floor (client {stub['apply_cpu']:.2f} s "
            "applying)"
        )
        if args.before is not None:
            before = result["before"]
            print(
                f"    the --before checkout: {before['apply']:6.2f} s, against the stub "
                f"{before['stub']['apply']:6.2f} s"
            )
    top = max(r["parallelism"] for r in results)
    unloaded = measure(args.executions, top, 0.0)
    print(
        f"  parallelism {top:3d} with no latency: {unloaded['apply']:6.2f} s (what CPU alone "
        f"takes here: client {unloaded['apply_cpu']:.2f} s applying, local Admin "
        f"{unloaded['admin_cpu']:.2f} s)"
    )
    baseline = naive(args.executions, args.naive_sample, args.latency)
    how = f", extrapolated from {baseline['sample']} runs" if baseline["sampled"] else ""
    print(
        f"  naive FlyteRemote execute loop: {baseline['seconds']:6.2f} s, "
        f"{baseline['rpcs']} RPCs {baseline['rpcs_by_method']}{how}"
    )
    for result in results:
        print(
            f"  ratio at parallelism {result['parallelism']}: "
            f"{baseline['seconds'] / result['apply']:.1f}x less wall time than the naive loop"
        )
    if args.json is not None:
        document = {
            "machine": machine(),
            "apply": results,
            "apply_unloaded": unloaded,
            "apply_naive": baseline,
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
