"""A daily sales report: scheduled by a launch plan, backfilled by a Backfill manifest."""

from __future__ import annotations

from datetime import datetime

from flytekit import task, workflow


@task
def fetch_sales(run_date: datetime, region: str, limit: int) -> list[float]:
    seed = run_date.toordinal() + len(region)
    return [float((seed * (i + 7)) % 101) for i in range(limit)]


@task
def summarize(sales: list[float], source: str) -> str:
    total = sum(sales)
    return f"{source}: {len(sales)} sales, total {total:.2f}"


@workflow
def report(
    run_date: datetime, region: str = "eu", limit: int = 10, source: str = "warehouse"
) -> str:
    return summarize(
        sales=fetch_sales(run_date=run_date, region=region, limit=limit), source=source
    )
