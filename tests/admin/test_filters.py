from __future__ import annotations

import enum
from datetime import datetime, timezone

import pytest

from reconciler.admin import filters as f


class Phase(enum.Enum):
    RUNNING = 3


def test_terms_join_with_plus_and_values_with_semicolons() -> None:
    built = (
        f.eq("phase", Phase.RUNNING)
        & f.ne("launch_plan.project", "p2")
        & f.value_in("execution_tag.key", ["team", "owner"])
    )
    assert (
        str(built)
        == "eq(phase,RUNNING)+ne(launch_plan.project,p2)+value_in(execution_tag.key,team;owner)"
    )


@pytest.mark.parametrize(
    ("term", "text"),
    [
        (f.eq("state", 1), "eq(state,1)"),
        (f.gt("created_at", datetime(2026, 1, 2, 3, 4, 5)), "gt(created_at,2026-01-02T03:04:05Z)"),
        (
            f.gte("execution.created_at", datetime(2026, 1, 2, tzinfo=timezone.utc)),
            "gte(execution.created_at,2026-01-02T00:00:00Z)",
        ),
        (f.lt("duration", 10), "lt(duration,10)"),
        (f.lte("duration", 10), "lte(duration,10)"),
        (f.contains("name", "report"), "contains(name,report)"),
        (f.value_not_in("phase", ["FAILED", "ABORTED"]), "value_not_in(phase,FAILED;ABORTED)"),
        (f.eq("schedule_type", "CRON"), "eq(schedule_type,CRON)"),
        (f.eq("workflow.name", "wf"), "eq(workflow.name,wf)"),
        (f.eq("task.name", "t"), "eq(task.name,t)"),
        (f.eq("admin_tag.name", "x"), "eq(admin_tag.name,x)"),
        (f.eq("is_active", True), "eq(is_active,true)"),
    ],
)
def test_each_function_renders(term: f.Filters, text: str) -> None:
    assert str(term) == text


@pytest.mark.parametrize("value", ["a,b", "a)b", "a;b", "a+b", ""])
def test_values_the_grammar_cannot_carry_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="cannot be expressed"):
        f.eq("name", value)


@pytest.mark.parametrize("field", ["Phase", "bogus.name", "a-b", ""])
def test_bad_fields_are_refused(field: str) -> None:
    with pytest.raises(ValueError, match="invalid filter field"):
        f.eq(field, "x")


def test_empty_filters_render_as_nothing() -> None:
    assert str(f.Filters()) == ""
    assert not f.Filters()
