"""Publish a report only once a person has approved it (a gate node with a signal)."""

from __future__ import annotations

from datetime import timedelta

from flytekit import approve, task, workflow


@task
def build(month: str) -> str:
    return f"report for {month}"


@task
def publish(report: str) -> str:
    return f"published: {report}"


@workflow
def publish_report(month: str) -> str:
    draft = build(month=month)
    approved = approve(draft, "release_ok", timeout=timedelta(days=2))
    return publish(report=approved)
