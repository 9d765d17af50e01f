"""Persistence across restarts, the scheduler, and ``reconciler local-admin serve``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from flyteidl.admin import (
    common_pb2,
    execution_pb2,
    launch_plan_pb2,
    schedule_pb2,
    version_pb2,
    workflow_pb2,
)
from flyteidl.core import execution_pb2 as core_execution_pb2
from flyteidl.service import admin_pb2_grpc

from reconciler.localadmin import LocalAdmin, ManualClock
from reconciler.localadmin.store import SCHEMA_VERSION, Store, StoreError
from tests.localadmin import builders as b
from tests.localadmin.conftest import list_request, register_basics

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

REPO = Path(__file__).resolve().parents[2]


def test_state_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "admin.db"
    with (
        LocalAdmin(db=db, clock=ManualClock(), data_dir=tmp_path / "d") as first,
        grpc.insecure_channel(first.endpoint) as channel,
    ):
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        register_basics(stub)
        stub.UpdateLaunchPlan(
            launch_plan_pb2.LaunchPlanUpdateRequest(id=b.lp_id(), state=launch_plan_pb2.ACTIVE)
        )
        stub.CreateExecution(b.execution_request("kept"))
    with (
        LocalAdmin(db=db, clock=ManualClock(), data_dir=tmp_path / "d") as second,
        grpc.insecure_channel(second.endpoint) as channel,
    ):
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        plan = stub.GetLaunchPlan(common_pb2.ObjectGetRequest(id=b.lp_id()))
        assert plan.closure.state == launch_plan_pb2.ACTIVE
        names = [e.id.name for e in stub.ListExecutions(list_request()).executions]
        assert names == ["kept"]


def test_a_database_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "admin.db"
    Store(db).close()
    import sqlite3

    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    connection.close()
    with pytest.raises(StoreError, match="schema version"):
        Store(db)


def test_scheduler_launches_active_cron_launch_plans_with_the_kickoff_time(tmp_path: Path) -> None:
    with (
        LocalAdmin(clock=ManualClock(), data_dir=tmp_path / "d", scheduler=True) as admin,
        grpc.insecure_channel(admin.endpoint) as channel,
    ):
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        register_basics(stub)
        wf = b.workflow_id("sched")
        spec = b.workflow_spec(inputs={"a": b.INT, "run_date": b.DATETIME})
        stub.CreateWorkflow(workflow_pb2.WorkflowCreateRequest(id=wf, spec=spec))
        schedule = schedule_pb2.Schedule(
            cron_schedule=schedule_pb2.CronSchedule(schedule="0 6 * * *"),
            kickoff_time_input_arg="run_date",
        )
        lp = b.lp_spec(workflow=wf, schedule=schedule, defaults={"a": b.int_literal(1)})
        stub.CreateLaunchPlan(launch_plan_pb2.LaunchPlanCreateRequest(id=b.lp_id("s"), spec=lp))
        admin.advance(2 * 86400)
        assert stub.ListExecutions(list_request()).executions == []  # inactive: nothing
        stub.UpdateLaunchPlan(
            launch_plan_pb2.LaunchPlanUpdateRequest(id=b.lp_id("s"), state=launch_plan_pb2.ACTIVE)
        )
        admin.advance(86400)
        executions = stub.ListExecutions(list_request()).executions
        assert len(executions) == 1
        metadata = executions[0].spec.metadata
        assert metadata.mode == execution_pb2.ExecutionMetadata.SCHEDULED
        data = stub.GetExecutionData(
            execution_pb2.WorkflowExecutionGetDataRequest(id=executions[0].id)
        )
        kickoff = data.full_inputs.literals["run_date"].scalar.primitive.datetime
        assert kickoff == metadata.scheduled_at
        assert kickoff.ToDatetime().hour == 6


def test_serve_prints_the_endpoint_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "local-admin",
            "serve",
            "--db",
            str(tmp_path / "a.db"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("local Admin listening on 127.0.0.1:")
        endpoint = first.split()[-1]
        with grpc.insecure_channel(endpoint) as channel:
            version = admin_pb2_grpc.AdminServiceStub(channel).GetVersion(
                version_pb2.GetVersionRequest(), timeout=10
            )
        assert "localadmin" in version.control_plane_version.Version
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    assert (tmp_path / "a.db").exists()


def test_run_serve_returns_success_when_stopped(tmp_path: Path) -> None:
    import io
    import threading

    from reconciler.commands import Outcome
    from reconciler.commands.localadmin import ServeOptions, run_serve

    out = io.StringIO()
    stop = threading.Event()
    result: list[Outcome] = []
    options = ServeOptions(db=tmp_path / "a.db")
    thread = threading.Thread(target=lambda: result.append(run_serve(options, out, stop)))
    thread.start()
    try:
        for _ in range(200):  # wait for the banner without timing the server itself
            if "listening" in out.getvalue():
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(timeout=20)
    assert result == [Outcome.SUCCESS]
    assert "local Admin listening on 127.0.0.1:" in out.getvalue()
    assert (tmp_path / "a.db.data").is_dir()


def test_serve_on_a_busy_port_is_a_usage_error(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with LocalAdmin(clock=ManualClock(), data_dir=tmp_path / "d") as busy:
        result = run_cli("local-admin", "serve", "--port", str(busy.port))
    assert result.code == 1
    assert "cannot serve on 127.0.0.1" in result.err


def test_with_the_system_clock_a_background_ticker_drives_the_engine(tmp_path: Path) -> None:
    from flytekit.configuration import Config
    from flytekit.models.core.execution import WorkflowExecutionPhase
    from flytekit.remote import FlyteRemote

    with (
        LocalAdmin(data_dir=tmp_path / "d", task_seconds=0.0, tick_interval=0.05) as admin,
        grpc.insecure_channel(admin.endpoint) as channel,
    ):
        register_basics(admin_pb2_grpc.AdminServiceStub(channel))
        remote = FlyteRemote(
            Config.for_endpoint(admin.endpoint, insecure=True),
            default_project=b.PROJECT,
            default_domain=b.DOMAIN,
        )
        launch_plan = remote.fetch_launch_plan(name="lp", version="v1")
        execution = remote.execute(launch_plan, inputs={"a": 1})
        # nothing advances the clock here: only the ticker thread can finish the run
        done = remote.wait(execution, timeout=30, poll_interval=0.05)  # type: ignore[arg-type]
        assert done.closure.phase == WorkflowExecutionPhase.SUCCEEDED


def test_a_version_1_file_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "old.db"
    Store(db).close()
    # make the file look like one written by version 1: no version-2 tables, no version-3 column
    with sqlite3.connect(db) as connection:
        connection.execute("DROP TABLE resources")
        connection.execute("DROP TABLE named_entity_metadata")
        connection.execute("ALTER TABLE executions DROP COLUMN resolved")
        connection.execute("INSERT INTO projects VALUES (NULL, 'kept', 'kept', 1, 0, x'')")
        connection.execute("UPDATE schema_version SET version = 1")
    connection.close()
    store = Store(db)
    try:
        assert (
            store.select("schema_version", order_by="version")[0]["version"] == SCHEMA_VERSION == 3
        )
        assert store.select("resources", order_by="seq") == []
        assert store.select("named_entity_metadata", order_by="name") == []
        assert [r["identifier"] for r in store.select("projects")] == ["kept"]
    finally:
        store.close()


def test_a_version_2_execution_runs_with_its_stored_spec_as_the_resolved_one(
    tmp_path: Path,
) -> None:
    import sqlite3

    from reconciler.localadmin.nodes import FAIL_NODE_LABEL
    from tests.localadmin.conftest import execution_id, get_execution

    db = tmp_path / "admin.db"
    with (
        LocalAdmin(db=db, clock=ManualClock(), data_dir=tmp_path / "d") as first,
        grpc.insecure_channel(first.endpoint) as channel,
    ):
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        register_basics(stub)
        stub.CreateExecution(b.execution_request("old", labels={FAIL_NODE_LABEL: "n0"}))
    # version 2 had no resolved column: the stored spec was the resolved one
    with sqlite3.connect(db) as connection:
        connection.execute("ALTER TABLE executions DROP COLUMN resolved")
        connection.execute("UPDATE schema_version SET version = 2")
    connection.close()
    with (
        LocalAdmin(db=db, clock=ManualClock(), data_dir=tmp_path / "d") as second,
        grpc.insecure_channel(second.endpoint) as channel,
    ):
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        stored = get_execution(stub, "old").spec
        assert second.executions.resolved_spec(execution_id("old")) == stored
        second.advance(10)
        failed = get_execution(stub, "old")
        assert failed.closure.phase == core_execution_pb2.WorkflowExecution.FAILED
        assert "n0" in failed.closure.error.message
