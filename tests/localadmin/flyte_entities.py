"""flytekit tasks and workflows the conformance tests register with the local Admin.

Their bodies never run there: the local Admin simulates execution (see nodes.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flytekit import LaunchPlan, approve, task, wait_for_input, workflow
from flytekit.core.schedule import CronSchedule


@task
def add_one(a: int) -> int:
    return a + 1


@task
def greet(name: str) -> str:
    return "hello " + name


@task
def report(run_date: datetime, region: str) -> str:
    return f"{region}@{run_date.isoformat()}"


@workflow
def pipeline(a: int = 3, name: str = "x") -> tuple[int, str]:
    return add_one(a=a), greet(name=name)


@workflow
def daily(run_date: datetime, region: str = "eu") -> str:
    return report(run_date=run_date, region=region)


daily_lp = LaunchPlan.get_or_create(
    daily,
    name="daily_report",
    schedule=CronSchedule(schedule="0 6 * * *", kickoff_time_input_arg="run_date"),
    default_inputs={"region": "us"},
)


@workflow
def gated(a: int) -> int:
    x = add_one(a=a)
    approved = approve(x, "release_ok", timeout=timedelta(hours=1))
    n = wait_for_input("count", timeout=timedelta(hours=1), expected_type=int)
    approved >> n
    return add_one(a=n)


@workflow
def inner(a: int) -> int:
    return add_one(a=a)


@workflow
def outer(a: int) -> int:
    return inner(a=add_one(a=a))


@workflow
def branching(a: int) -> int:
    from flytekit import conditional

    return conditional("sign").if_(a > 0).then(add_one(a=a)).else_().then(add_one(a=0))


@workflow
def mapping(xs: list[int]) -> list[int]:
    from flytekit import map_task

    return map_task(add_one)(a=xs)


@workflow
def guarded(a: int) -> int:
    from flytekit import conditional

    return conditional("positive").if_(a > 0).then(add_one(a=a)).else_().fail("a must be positive")
