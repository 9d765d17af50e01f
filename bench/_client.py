"""The client side of the scale benchmarks, run as a child process by ``plan_bench.py`` and
``apply_bench.py`` (so its wall time and peak RSS are its own, and it shares no GIL with the
local Admin). It prints one JSON object as its last line of output.

    python bench/_client.py plan [--profile FILE] -- PLAN_ARGS...
        ``reconciler plan PLAN_ARGS...`` through the real entry point, with the time spent in
        each stage of ``compute_plan`` (load, read Admin, plan) and in rendering.
    python bench/_client.py apply PLAN_FILE ENDPOINT --parallelism P
        ``apply_plan`` of a saved plan (no stale check), timed.
    python bench/_client.py naive-plan ENDPOINT --launch-plans N --executions M [--offset K]
        flytekit's FlyteRemote, one fetch per launch plan and per execution.
    python bench/_client.py naive-apply ENDPOINT --count N
        flytekit's FlyteRemote, one ``execute`` per run of launch plan ``wf``.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402  # the clock starts before the imports, to time them
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

PROJECT, DOMAIN = "flytesnacks", "development"


def _timed(module: Any, name: str, stages: dict[str, float], key: str | None = None) -> None:
    """Wrap ``module.name`` so that the time spent in it adds up in ``stages[key]`` (``key``
    defaults to ``name``), and the process's CPU time meanwhile in ``stages[key + "_cpu"]``.
    A stage that is not there is an error: a bench that times nothing must not pass."""
    original: Callable[..., Any] = getattr(module, name)
    key = key or name

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            stages[key] = stages.get(key, 0.0) + time.perf_counter() - started
            cpu_name = f"{key}_cpu"
            stages[cpu_name] = stages.get(cpu_name, 0.0) + time.process_time() - cpu

    setattr(module, name, wrapper)


def plan(argv: list[str], profile: str | None) -> dict[str, Any]:
    import reconciler.commands.plan as plan_command
    from reconciler import pipeline
    from reconciler.cli import main

    imported, imported_cpu = time.perf_counter(), time.process_time()
    stages: dict[str, float] = {}
    # the stages as compute_plan (reconciler/pipeline.py) calls them, by its module's names
    for name in ("load_desired", "fetch_actual", "followups", "make_plan"):
        _timed(pipeline, name, stages)
    _timed(plan_command, "compute_plan", stages)
    for name in ("render_text", "render_json", "render_markdown"):
        _timed(plan_command, name, stages, key="render")
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
    code: Any = 0
    try:
        main(argv)
    except SystemExit as exc:
        code = exc.code
    if profiler is not None:
        profiler.stop()
        Path(profile or "").write_text(profiler.output_text(unicode=False, color=False))
    return {
        "exit_code": code,
        "imports": imported - STARTED,
        "imports_cpu": imported_cpu,
        **stages,
    }


def apply(plan_file: str, endpoint: str, parallelism: int) -> dict[str, Any]:
    from reconciler.admin.client import AdminClient
    from reconciler.apply.run import apply_plan
    from reconciler.config import Connection
    from reconciler.plan.model import Plan

    plan = Plan.from_json(json.loads(Path(plan_file).read_text()))
    with AdminClient(Connection(endpoint=endpoint, insecure=True)) as client:
        client.get_version()  # connect before timing
        started, cpu = time.perf_counter(), time.process_time()
        results = apply_plan(plan, client, parallelism=parallelism)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    failed = [r.message for r in results if not r.ok]
    return {
        "apply": elapsed,
        "apply_cpu": cpu,
        "changes": len(results),
        "failed": len(failed),
        "errors": failed[:3],
    }


def _remote(endpoint: str) -> Any:
    from flytekit.configuration import Config
    from flytekit.remote import FlyteRemote

    remote = FlyteRemote(
        Config.for_endpoint(endpoint, insecure=True),
        default_project=PROJECT,
        default_domain=DOMAIN,
    )
    remote.client  # noqa: B018  # connect before timing
    return remote


def naive_plan(endpoint: str, launch_plans: int, executions: int, offset: int) -> dict[str, Any]:
    remote = _remote(endpoint)
    started = time.perf_counter()
    for i in range(offset, offset + launch_plans):
        remote.fetch_launch_plan(name=f"lp-{i}", version="v1")
    for i in range(offset, offset + executions):
        remote.fetch_execution(name=f"run-{i}")
    return {"naive": time.perf_counter() - started, "entities": launch_plans + executions}


def naive_apply(endpoint: str, count: int) -> dict[str, Any]:
    remote = _remote(endpoint)
    launch_plan = remote.fetch_launch_plan(name="wf", version="v1")
    started = time.perf_counter()
    for i in range(count):
        remote.execute(
            launch_plan, inputs={"a": i, "region": "eu"}, execution_name=f"naive-{i}", wait=False
        )
    return {"naive": time.perf_counter() - started, "entities": count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    planning = commands.add_parser("plan")
    planning.add_argument("--profile", help="write a pyinstrument profile of the run here")
    planning.add_argument("args", nargs=argparse.REMAINDER)
    applying = commands.add_parser("apply")
    applying.add_argument("plan_file")
    applying.add_argument("endpoint")
    applying.add_argument("--parallelism", type=int, required=True)
    naive = commands.add_parser("naive-plan")
    naive.add_argument("endpoint")
    naive.add_argument("--launch-plans", type=int, required=True)
    naive.add_argument("--executions", type=int, required=True)
    naive.add_argument("--offset", type=int, default=0)
    naive_applying = commands.add_parser("naive-apply")
    naive_applying.add_argument("endpoint")
    naive_applying.add_argument("--count", type=int, required=True)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    if args.command == "plan":
        result = plan([a for a in args.args if a != "--"], args.profile)
    elif args.command == "apply":
        result = apply(args.plan_file, args.endpoint, args.parallelism)
    elif args.command == "naive-plan":
        result = naive_plan(args.endpoint, args.launch_plans, args.executions, args.offset)
    else:
        result = naive_apply(args.endpoint, args.count)
    sys.stdout.flush()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
