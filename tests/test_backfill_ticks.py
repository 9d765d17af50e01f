"""Backfill ticks: both ends inclusive, cron and fixed rate."""

from __future__ import annotations

from datetime import datetime, timezone

from flyteidl.admin import schedule_pb2

from reconciler.kinds.backfill import ticks


def _at(day: int, hour: int = 6, minute: int = 0) -> datetime:
    return datetime(2023, 1, day, hour, minute, tzinfo=timezone.utc)


def test_cron_ticks_include_both_ends() -> None:
    daily = schedule_pb2.Schedule(cron_schedule=schedule_pb2.CronSchedule(schedule="0 6 * * *"))
    assert ticks(daily, _at(1), _at(3)) == [_at(1), _at(2), _at(3)]
    assert ticks(daily, _at(1, 6, 1), _at(3, 5, 59)) == [_at(2)]
    assert ticks(daily, _at(1, 7), _at(2, 5)) == []


def test_descriptor_cron() -> None:
    hourly = schedule_pb2.Schedule(cron_schedule=schedule_pb2.CronSchedule(schedule="@hourly"))
    assert len(ticks(hourly, _at(1, 0), _at(1, 23))) == 24


def test_fixed_rate_ticks_start_at_from() -> None:
    every_eight_hours = schedule_pb2.Schedule(
        rate=schedule_pb2.FixedRate(value=8, unit=schedule_pb2.HOUR)
    )
    assert ticks(every_eight_hours, _at(1, 0), _at(2, 0)) == [
        _at(1, 0),
        _at(1, 8),
        _at(1, 16),
        _at(2, 0),
    ]


def test_ticks_at_the_edges_of_time_end_there_instead_of_overflowing() -> None:
    # Found by fuzzing: croniter and timedelta arithmetic overflow past 9999-12-31.
    daily = schedule_pb2.Schedule(cron_schedule=schedule_pb2.CronSchedule(schedule="0 6 * * *"))
    last = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
    assert ticks(daily, datetime(9999, 12, 30, tzinfo=timezone.utc), last) == [
        datetime(9999, 12, 30, 6, tzinfo=timezone.utc),
        datetime(9999, 12, 31, 6, tzinfo=timezone.utc),
    ]
    first = datetime(1, 1, 1, tzinfo=timezone.utc)
    assert ticks(daily, first, datetime(1, 1, 2, 23, tzinfo=timezone.utc)) == [
        datetime(1, 1, 1, 6, tzinfo=timezone.utc),
        datetime(1, 1, 2, 6, tzinfo=timezone.utc),
    ]
    hourly = schedule_pb2.Schedule(rate=schedule_pb2.FixedRate(value=1, unit=schedule_pb2.DAY))
    assert ticks(hourly, datetime(9999, 12, 31, tzinfo=timezone.utc), last) == [
        datetime(9999, 12, 31, tzinfo=timezone.utc)
    ]
