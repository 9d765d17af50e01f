"""Launches active scheduled launch plans, like FlyteAdmin's native scheduler.

For every ``ACTIVE`` launch plan with a cron or fixed-rate schedule, each schedule tick after its
activation time (``closure.updated_at``) and not after "now" starts an execution with mode
``SCHEDULED``, ``metadata.scheduled_at`` set and the tick passed as the kickoff time input. The
execution name is derived from the launch plan and the tick, so a tick is launched at most once
even across restarts (the native scheduler dedupes the same way). Cron offsets are ignored.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from croniter import croniter
from flyteidl.admin import execution_pb2, launch_plan_pb2, schedule_pb2
from flyteidl.core import literals_pb2

from reconciler.localadmin.clock import Clock
from reconciler.localadmin.errors import AdminError
from reconciler.localadmin.executions import Caller, Executions, Mode
from reconciler.localadmin.launch_plans import LaunchPlans
from reconciler.localadmin.protos import timestamp

log = logging.getLogger(__name__)

_RATE_UNIT = {
    schedule_pb2.FixedRateUnit.MINUTE: timedelta(minutes=1),
    schedule_pb2.FixedRateUnit.HOUR: timedelta(hours=1),
    schedule_pb2.FixedRateUnit.DAY: timedelta(days=1),
}
_MAX_CATCH_UP = 1000


class Scheduler:
    def __init__(self, launch_plans: LaunchPlans, executions: Executions, clock: Clock) -> None:
        self.launch_plans = launch_plans
        self.executions = executions
        self.clock = clock

    def tick(self) -> int:
        """Launch every due tick; returns how many executions were created."""
        now = datetime.fromtimestamp(self.clock.now(), tz=timezone.utc)
        launched = 0
        for launch_plan in self.launch_plans.active_scheduled_launch_plans():
            for when in _ticks(launch_plan, now):
                launched += self._launch(launch_plan, when)
        return launched

    def _launch(self, launch_plan: launch_plan_pb2.LaunchPlan, when: datetime) -> int:
        schedule = launch_plan.spec.entity_metadata.schedule
        inputs = literals_pb2.LiteralMap()
        if schedule.kickoff_time_input_arg:
            inputs.literals[schedule.kickoff_time_input_arg].CopyFrom(
                literals_pb2.Literal(
                    scalar=literals_pb2.Scalar(
                        primitive=literals_pb2.Primitive(datetime=timestamp(when.timestamp()))
                    )
                )
            )
        spec = execution_pb2.ExecutionSpec(
            launch_plan=launch_plan.id,
            metadata=execution_pb2.ExecutionMetadata(
                mode=Mode.SCHEDULED, scheduled_at=timestamp(when.timestamp())
            ),
        )
        key = f"{launch_plan.id.project}/{launch_plan.id.domain}/{launch_plan.id.name}/"
        key += f"{launch_plan.id.version}/{when.isoformat()}"
        name = "f" + hashlib.sha256(key.encode()).hexdigest()[:19]
        try:
            self.executions.create(
                launch_plan.id.project,
                launch_plan.id.domain,
                name,
                spec,
                inputs,
                caller=Caller("localadmin-scheduler"),
            )
        except AdminError as exc:
            if exc.code.name != "ALREADY_EXISTS":
                log.warning("scheduled launch of %s failed: %s", launch_plan.id.name, exc.message)
            return 0
        return 1


def _ticks(launch_plan: launch_plan_pb2.LaunchPlan, now: datetime) -> Iterator[datetime]:
    schedule = launch_plan.spec.entity_metadata.schedule
    start = launch_plan.closure.updated_at.ToDatetime(tzinfo=timezone.utc)
    if schedule.HasField("cron_schedule") or schedule.cron_expression:
        expression = schedule.cron_schedule.schedule or schedule.cron_expression
        times = croniter(expression, start)
        for _ in range(_MAX_CATCH_UP):
            when = times.get_next(datetime)
            if when > now:
                return
            yield when
    elif schedule.HasField("rate") and schedule.rate.value > 0:
        step = _RATE_UNIT.get(schedule.rate.unit, timedelta(minutes=1)) * schedule.rate.value
        when = start + step
        for _ in range(_MAX_CATCH_UP):
            if when > now:
                return
            yield when
            when += step
