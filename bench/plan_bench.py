"""Plan N manifests against the local Admin with injected per-RPC latency, as a separate
process (wall time and peak RSS its own), and in the same run read the same entities the naive
way, one FlyteRemote fetch per entity.

    python bench/plan_bench.py [--sizes 1000,10000] [--latency 0.02] [--naive-sample 200]
                               [--profile DIR] [--json FILE] [--before CHECKOUT] [--repeat N]

Per size, half the manifests are launch plans and half executions of them. Admin's state is
first made with ``reconciler apply --parallelism 32`` and no latency, so the timed plan is the
steady-state one a CI job pays: nothing to change (the plan must exit 0 with
``--detailed-exitcode``). Calls are counted on the server. The floor is RPCs x latency /
parallelism (the plan's read parallelism, ``parallelism`` of reconciler.yaml, default 10).

The naive loop fetches every entity at sizes up to 1,000; above, it fetches ``--naive-sample``
entities (half launch plans, half executions) and its time and RPCs are extrapolated linearly
to the size (marked so in the output). ``--before`` times another checkout's ``reconciler``
on the same state right after this one's (``run_all.py`` uses it for before/after figures);
``--repeat N`` plans N times (interleaved with the other checkout) and keeps each figure's
lowest value, the one least disturbed by other loads on the machine.
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
    child_env,
    machine,
    own_cpu,
    run_child,
    served_admin,
    write_manifests,
)

from reconciler.config import Settings

FULL_NAIVE_UP_TO = 1000


def time_plan(
    command: list[str], env: dict[str, str], meter: Any, profile: Path | None
) -> dict[str, Any]:
    """One timed ``reconciler plan`` process: wall, CPU, peak RSS, its stages, the RPCs it
    made and the CPU the local Admin spent meanwhile."""
    meter.reset()
    profiling = ["--profile", str(profile)] if profile is not None else []
    admin_cpu = own_cpu()
    run = run_child([str(BENCH / "_client.py"), "plan", *profiling, "--", *command], env)
    admin_cpu = own_cpu() - admin_cpu
    stages = run.json()
    if stages["exit_code"] != 0:
        sys.exit(f"the timed plan ({command}) was expected to be empty")
    names = {
        "imports": "imports",
        "load": "load_desired",
        "read_admin": "fetch_actual",
        "followups": "followups",
        "make_plan": "make_plan",
        "render": "render",
    }
    return {
        "wall": run.wall,
        "cpu": run.cpu,
        "peak_rss_mb": run.peak_rss_mb,
        "plan": stages["compute_plan"],
        "plan_cpu": stages["compute_plan_cpu"],
        "stages": {key: stages.get(name, 0.0) for key, name in names.items()},
        "stages_cpu": {key: stages.get(f"{name}_cpu", 0.0) for key, name in names.items()},
        "overhead": run.wall - stages["compute_plan"] - stages.get("render", 0.0),
        "rpcs": meter.total,
        "rpcs_by_method": dict(meter.calls),
        "admin_cpu": admin_cpu,
    }


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure at its lowest over ``runs``: what the code takes when the machine's other
    loads interfere least (they only ever add)."""
    first = runs[0]
    out: dict[str, Any] = {}
    for key, value in first.items():
        if isinstance(value, dict) and key != "rpcs_by_method":
            out[key] = {k: min(r[key][k] for r in runs) for k in value}
        elif isinstance(value, float):
            out[key] = min(r[key] for r in runs)
        else:
            out[key] = value
    out["runs"] = len(runs)
    return out


def measure(
    size: int,
    latency: float,
    naive_sample: int,
    profile: Path | None,
    before: Path | None = None,
    repeat: int = 1,
) -> dict[str, Any]:
    """Plan ``size`` manifests ``repeat`` times and keep each figure's best; with ``before``
    (the root of another checkout), time that checkout's ``reconciler`` too, on the same Admin
    state, each run right after one of this checkout's."""
    launch_plans, executions = size // 2, size - size // 2
    parallelism = Settings().parallelism
    with tempfile.TemporaryDirectory() as temp_name:
        temp = Path(temp_name)
        env = child_env(temp)
        root = temp / "manifests"
        write_manifests(root, launch_plans, executions)
        with served_admin(temp) as (admin, meter):
            target = ["--endpoint", admin.endpoint, "--insecure"]
            apply = ["apply", str(root), *target, "--auto-approve", "--parallelism", "32"]
            setup = run_child(
                ["-m", "reconciler", *apply],
                env,
            )
            meter.latency = latency
            command = ["plan", str(root), *target, "--detailed-exitcode"]
            if profile is not None:
                profile.mkdir(parents=True, exist_ok=True)
            nows, thens = [], []
            for _ in range(repeat):  # interleaved, so that both meet the same other loads
                nows.append(
                    time_plan(command, env, meter, profile and profile / f"plan-{size}.txt")
                )
                if before is not None:
                    before_profile = profile and profile / f"plan-{size}-before.txt"
                    thens.append(time_plan(command, child_env(temp, before), meter, before_profile))
            now = best(nows)
            then = best(thens) if thens else None

            sampled = size > FULL_NAIVE_UP_TO
            lp_sample = min(launch_plans, naive_sample // 2) if sampled else launch_plans
            ex_sample = min(executions, naive_sample - naive_sample // 2) if sampled else executions
            meter.reset()
            sample = ["--launch-plans", str(lp_sample), "--executions", str(ex_sample)]
            naive_run = run_child(
                [str(BENCH / "_client.py"), "naive-plan", admin.endpoint, *sample],
                env,
            )
            naive_calls = meter.total
            meter.latency = 0.0
    scale = size / (lp_sample + ex_sample)
    return {
        "size": size,
        "launch_plans": launch_plans,
        "executions": executions,
        "latency": latency,
        "parallelism": parallelism,
        "setup_seconds": setup.wall,
        **now,
        "floor": now["rpcs"] * latency / parallelism,
        "naive_seconds": naive_run.json()["naive"] * scale,
        "naive_rpcs": round(naive_calls * scale),
        "naive_sampled": sampled,
        "naive_sample": lp_sample + ex_sample,
        "before": then,
    }


def report(result: dict[str, Any]) -> None:
    size = result["size"]
    stages = result["stages"]
    print(
        f"plan of {size:,} manifests ({result['launch_plans']:,} launch plans, "
        f"{result['executions']:,} executions), {result['latency'] * 1000:.0f} ms added per RPC, "
        f"read parallelism {result['parallelism']}"
    )
    print(
        f"  `reconciler plan` process: {result['wall']:7.2f} s wall, {result['cpu']:.2f} s CPU, "
        f"peak RSS {result['peak_rss_mb']:.0f} MB, {result['rpcs']} RPCs {result['rpcs_by_method']}"
    )
    print(
        f"  in-process plan:           {result['plan']:7.2f} s  (load {stages['load']:.2f}, "
        f"read Admin {stages['read_admin'] + stages['followups']:.2f}, "
        f"make_plan {stages['make_plan']:.2f}; start-up and exit {result['overhead']:.2f} s)"
    )
    print(
        f"  RPC floor:                 {result['floor']:7.2f} s  "
        f"(plan is {result['plan'] / result['floor']:.1f}x the floor)"
    )
    how = f"extrapolated from {result['naive_sample']} entities" if result["naive_sampled"] else ""
    print(
        f"  naive FlyteRemote fetches: {result['naive_seconds']:7.2f} s  "
        f"{result['naive_rpcs']:6d} RPCs  {how}"
    )
    print(
        f"  ratio: {result['naive_seconds'] / result['wall']:.1f}x less wall time than the naive "
        f"loop, {result['naive_rpcs'] / max(result['rpcs'], 1):.1f}x fewer RPCs"
    )
    before = result["before"]
    if before is not None:
        print(
            f"  the --before checkout, same state: {before['wall']:.2f} s wall, "
            f"{before['cpu']:.2f} s CPU, in-process {before['plan']:.2f} s, "
            f"peak RSS {before['peak_rss_mb']:.0f} MB, {before['rpcs']} RPCs "
            f"({before['wall'] / result['wall']:.1f}x the wall time of this one)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000", help="comma-separated manifest counts")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every RPC")
    parser.add_argument("--naive-sample", type=int, default=200)
    parser.add_argument("--profile", type=Path, help="write a pyinstrument profile per size here")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument(
        "--before",
        type=Path,
        help="root of another checkout whose reconciler package to time on the same state",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="plan this many times; each figure's best counts"
    )
    args = parser.parse_args()
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        result = measure(
            size, args.latency, args.naive_sample, args.profile, args.before, args.repeat
        )
        report(result)
        results.append(result)
    if args.json is not None:
        args.json.write_text(json.dumps({"machine": machine(), "plan": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
