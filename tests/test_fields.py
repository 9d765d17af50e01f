"""Offline checks of single values: names, labels, cron, times, environment references."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from reconciler.manifests.envref import Malformed, has_reference, references
from reconciler.manifests.fields import (
    check_cron,
    check_execution_name,
    check_label_key,
    check_label_value,
)


@pytest.mark.parametrize(
    "cron",
    [
        "0 6 * * *",
        "*/15 * * * *",
        "0 0 1 JAN,JUL *",
        "30 2 * * MON-FRI",
        "0 0 ? * SUN",
        "@daily",
        "@hourly",
        "@yearly",
        "@midnight",
        "5,35 1-5/2 * * *",
    ],
)
def test_cron_expressions_admin_accepts(cron: str) -> None:
    assert check_cron(cron) == cron


@pytest.mark.parametrize(
    ("cron", "why"),
    [
        ("61 * * * *", "out of range"),
        ("* * * *", "expected 5 fields"),
        ("0 0 6 * * *", "expected 5 fields"),
        ("@every 5m", "use schedule.rate"),
        ("@fortnightly", "descriptors are"),
        ("0 0 L * *", "not supported by Admin"),
        ("0 0 * * 5#2", "not supported by Admin"),
        ("0 0 * FOO *", "not supported by Admin"),
        ("0 0 * * MON#1", "not supported by Admin"),
        ("0 25 * * *", "out of range"),
    ],
)
def test_cron_expressions_admin_refuses(cron: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        check_cron(cron)


def test_templated_cron_waits_for_plan_time() -> None:
    assert check_cron("${env:REPORT_CRON}") == "${env:REPORT_CRON}"


@pytest.mark.parametrize("name", ["a", "close-2026-11", "a" * 63, "x-1-y"])
def test_valid_execution_names(name: str) -> None:
    assert check_execution_name(name) == name


@pytest.mark.parametrize("name", ["", "A", "1abc", "close_2026", "a" * 64, "-a", "a.b"])
def test_invalid_execution_names(name: str) -> None:
    with pytest.raises(ValueError, match="execution name"):
        check_execution_name(name)


@pytest.mark.parametrize(
    "key", ["team", "app.kubernetes.io/name", "a", "a_b.c-d", "example.com/x" + "y" * 61]
)
def test_valid_label_keys(key: str) -> None:
    assert check_label_key(key) == key


@pytest.mark.parametrize(
    "key", ["", "Team Name", "-team", "team-", "UPPER.example.com/x", "a/b/c", "x" * 64]
)
def test_invalid_label_keys(key: str) -> None:
    with pytest.raises(ValueError, match="label key"):
        check_label_key(key)


@pytest.mark.parametrize("value", ["", "v1", "Analytics_Team", "a.b-c", "4711"])
def test_valid_label_values(value: str) -> None:
    assert check_label_value(value) == value


@pytest.mark.parametrize("value", ["a b", "jane@example.com", "-x", "x" * 64])
def test_invalid_label_values(value: str) -> None:
    with pytest.raises(ValueError, match="label value"):
        check_label_value(value)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("plain", []),
        ("${env:TOKEN}", ["TOKEN"]),
        ("Bearer ${env:A}-${env:B_2}", ["A", "B_2"]),
        ("price $5", []),
        ("literal $${env:NOT_A_REF}", []),
    ],
)
def test_environment_references(text: str, names: list[str]) -> None:
    assert references(text) == names
    assert has_reference(text) == bool(names)


@pytest.mark.parametrize("text", ["${env:}", "${env:1X}", "${TOKEN}", "${env:TOKEN", "${file:x}"])
def test_malformed_environment_references(text: str) -> None:
    assert isinstance(references(text), Malformed)


def test_backfill_window_accepts_dates_strings_and_naive_times_as_utc() -> None:
    from reconciler.manifests.backfill import BackfillSpec

    spec = BackfillSpec.model_validate(
        {"launchPlan": {"name": "lp"}, "from": "2023-01-01T06:00:00Z", "to": datetime(2023, 1, 3)}
    )
    assert spec.start == datetime(2023, 1, 1, 6, tzinfo=timezone.utc)
    assert spec.end == datetime(2023, 1, 3, tzinfo=timezone.utc)
