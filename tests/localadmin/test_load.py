"""The local Admin under load (issue #13, item 7).

``reconciler local-admin serve --db FILE`` (SQLite on disk, its engine ticking on the wall
clock) serves 16 concurrent clients, each a thread with its own gRPC channel, that mix for a
bounded time:

- ``CreateExecution`` of new names, of names every client races for at once, and again of names
  already acknowledged;
- ``ListExecutions`` and ``ListLaunchPlans``;
- ``GetOrCreateSignal`` then ``SetSignal``.

Afterwards every acknowledged create is there exactly once (listed through the API, and counted
in the database file once the server has stopped), each raced-for name was won exactly once and
refused with ALREADY_EXISTS otherwise, every acknowledged signal value is stored, and no client
saw any other error: no ``database is locked``, no INTERNAL or UNKNOWN. Latencies (p50, p99) are
reported per call; the full run (``RECONCILER_LOAD=full``, ``make reliability``) prints them for
docs/reliability.md. Nothing asserts on time: the load runs until a deadline, then everything
that was acknowledged is checked.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from flyteidl.admin import common_pb2, launch_plan_pb2, signal_pb2, task_pb2, workflow_pb2
from flyteidl.core import identifier_pb2
from flyteidl.service import admin_pb2_grpc, signal_pb2_grpc

from tests.localadmin import builders as b

REPO = Path(__file__).resolve().parents[2]
CLIENTS = 16
LOAD_VARIABLE = "RECONCILER_LOAD"
SECONDS = {"ci": 3.0, "full": 60.0}
CALL_TIMEOUT = 60.0  # a deadline per call: a server that stalls fails the test, never hangs it
HOST = "signal-host"  # the execution whose signals the clients create and set


def _size() -> str:
    # RELIABILITY_FULL=1, the other full-size tests' switch, selects the full run too
    return os.environ.get(LOAD_VARIABLE) or ("full" if os.environ.get("RELIABILITY_FULL") else "ci")


pytestmark = [pytest.mark.integration, pytest.mark.timeout(120 if _size() == "ci" else 900)]


def _seconds() -> float:
    size = _size()
    if size not in SECONDS:
        raise pytest.UsageError(f"{LOAD_VARIABLE} is 'ci' or 'full', not {size!r}")
    return SECONDS[size]


@dataclass
class Client:
    """What one client did and saw."""

    number: int
    created: list[str] = field(default_factory=list)
    won: list[str] = field(default_factory=list)
    raced: list[str] = field(default_factory=list)
    refused_again: int = 0  # ALREADY_EXISTS for a name it had created: as it must be
    signals: dict[str, int] = field(default_factory=dict)  # signal id -> the value set
    errors: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


@dataclass
class Served:
    endpoint: str
    db: Path
    process: subprocess.Popen[str]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """``local-admin serve`` in its own process, as people run it, with its database on disk."""
    db = tmp_path / "admin.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "local-admin", "serve", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    if "listening on " not in first:
        process.kill()
        pytest.fail(f"local-admin serve did not start: {first}{process.communicate()[0]}")
    try:
        yield Served(first.rsplit(" ", 1)[-1].strip(), db, process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=30)


def _stop(served: Served) -> str:
    served.process.send_signal(signal.SIGTERM)
    output, _ = served.process.communicate(timeout=30)
    return output


def _setup(endpoint: str) -> None:
    """Workflow ``wf`` (a: int) and its launch plan, ``gated`` and a run ``signal-host`` of it."""
    with grpc.insecure_channel(endpoint) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        stub.CreateTask(task_pb2.TaskCreateRequest(id=b.task_id(), spec=b.task_spec()))
        stub.CreateWorkflow(
            workflow_pb2.WorkflowCreateRequest(id=b.workflow_id(), spec=b.workflow_spec())
        )
        stub.CreateLaunchPlan(
            launch_plan_pb2.LaunchPlanCreateRequest(
                id=b.lp_id(), spec=b.lp_spec(defaults={"a": b.int_literal(1)})
            )
        )
        b.register_gated(stub)
        stub.CreateExecution(_gated(HOST))


def _gated(name: str) -> Any:
    return b.execution_request(
        name, launch_plan=b.lp_id("gated"), inputs=b.literal_map(a=b.int_literal(1))
    )


def _signal_id(name: str) -> identifier_pb2.SignalIdentifier:
    return identifier_pb2.SignalIdentifier(
        signal_id=name,
        execution_id=identifier_pb2.WorkflowExecutionIdentifier(
            project=b.PROJECT, domain=b.DOMAIN, name=HOST
        ),
    )


def _list_request(limit: int = 100, token: str = "") -> common_pb2.ResourceListRequest:
    return common_pb2.ResourceListRequest(
        id=common_pb2.NamedEntityIdentifier(project=b.PROJECT, domain=b.DOMAIN),
        limit=limit,
        token=token,
        sort_by=common_pb2.Sort(key="created_at", direction=common_pb2.Sort.ASCENDING),
    )


def _run_client(endpoint: str, client: Client, deadline: float) -> None:
    """One client: its own channel, a mix of calls chosen by a seeded generator, until the
    deadline. Every call's outcome is recorded; only ALREADY_EXISTS is ever expected."""
    pick = random.Random(client.number)
    with grpc.insecure_channel(endpoint) as channel:
        admin = admin_pb2_grpc.AdminServiceStub(channel)
        signals = signal_pb2_grpc.SignalServiceStub(channel)

        def call(kind: str, method: Callable[..., Any], request: Any) -> grpc.StatusCode:
            began = time.perf_counter()
            try:
                method(request, timeout=CALL_TIMEOUT)
                code = grpc.StatusCode.OK
            except grpc.RpcError as exc:
                code = exc.code()
                if code is not grpc.StatusCode.ALREADY_EXISTS:
                    client.errors.append(f"{kind}: {code.name}: {exc.details()}")
            client.latencies[kind].append(time.perf_counter() - began)
            return code

        serial = 0
        while time.monotonic() < deadline:
            serial += 1
            roll = pick.random()
            if roll < 0.35:  # a new name; half of them runs that wait at a gate for good
                name = f"c{client.number}-{serial}"
                request = _gated(name) if serial % 2 else b.execution_request(name)
                if call("CreateExecution", admin.CreateExecution, request) is grpc.StatusCode.OK:
                    client.created.append(name)
            elif roll < 0.45:  # every client races for the same names, in the same order
                name = f"raced-{len(client.raced)}"
                client.raced.append(name)
                code = call("CreateExecution", admin.CreateExecution, b.execution_request(name))
                if code is grpc.StatusCode.OK:
                    client.won.append(name)
            elif roll < 0.50 and client.created:  # again: must be ALREADY_EXISTS, not a row
                name = pick.choice(client.created)
                code = call("CreateExecution", admin.CreateExecution, b.execution_request(name))
                if code is grpc.StatusCode.ALREADY_EXISTS:
                    client.refused_again += 1
                elif code is grpc.StatusCode.OK:
                    client.errors.append(f"CreateExecution of {name} again succeeded")
            elif roll < 0.65:
                call("ListExecutions", admin.ListExecutions, _list_request())
            elif roll < 0.75:
                call("ListLaunchPlans", admin.ListLaunchPlans, _list_request())
            else:
                signal_name = f"s{client.number}-{serial}"
                created = call(
                    "GetOrCreateSignal",
                    signals.GetOrCreateSignal,
                    signal_pb2.SignalGetOrCreateRequest(id=_signal_id(signal_name), type=b.INT),
                )
                if created is grpc.StatusCode.OK:
                    request = signal_pb2.SignalSetRequest(
                        id=_signal_id(signal_name), value=b.int_literal(serial)
                    )
                    if call("SetSignal", signals.SetSignal, request) is grpc.StatusCode.OK:
                        client.signals[signal_name] = serial


def _listed(endpoint: str) -> tuple[list[str], dict[str, int]]:
    """Every execution name (all pages) and every signal value of the host run."""
    names: list[str] = []
    values: dict[str, int] = {}
    with grpc.insecure_channel(endpoint) as channel:
        admin = admin_pb2_grpc.AdminServiceStub(channel)
        token = ""
        while True:
            page = admin.ListExecutions(_list_request(token=token), timeout=CALL_TIMEOUT)
            names.extend(e.id.name for e in page.executions)
            token = page.token
            if not token:
                break
        signals = signal_pb2_grpc.SignalServiceStub(channel)
        host = identifier_pb2.WorkflowExecutionIdentifier(
            project=b.PROJECT, domain=b.DOMAIN, name=HOST
        )
        token = ""
        while True:
            listed = signals.ListSignals(
                signal_pb2.SignalListRequest(workflow_execution_id=host, limit=100, token=token),
                timeout=CALL_TIMEOUT,
            )
            for found in listed.signals:
                if found.HasField("value"):
                    values[found.id.signal_id] = found.value.scalar.primitive.integer
            token = listed.token
            if not token:
                break
    return names, values


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def latency_table(clients: list[Client], seconds: float) -> str:
    merged: dict[str, list[float]] = defaultdict(list)
    for client in clients:
        for kind, samples in client.latencies.items():
            merged[kind].extend(samples)
            merged["all calls"].extend(samples)
    lines = [
        f"local Admin under load: {CLIENTS} clients for {seconds:.0f} s, SQLite on disk",
        f"{'call':20s} {'calls':>7s} {'per s':>7s} {'p50 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}",
    ]
    for kind in sorted(merged, key=lambda k: (k == "all calls", k)):
        samples = merged[kind]
        lines.append(
            f"{kind:20s} {len(samples):7d} {len(samples) / seconds:7.0f} "
            f"{percentile(samples, 0.5) * 1000:8.1f} {percentile(samples, 0.99) * 1000:8.1f} "
            f"{max(samples) * 1000:8.1f}"
        )
    return "\n".join(lines)


def test_sixteen_clients_lose_nothing_duplicate_nothing_and_see_no_errors(
    served: Served,
) -> None:
    _setup(served.endpoint)
    seconds = _seconds()
    clients = [Client(number) for number in range(CLIENTS)]
    start = threading.Barrier(CLIENTS + 1)
    deadline_holder: list[float] = []

    def run(client: Client) -> None:
        try:
            start.wait()  # released together, after the deadline is set
            _run_client(served.endpoint, client, deadline_holder[0])
        except Exception as exc:  # recorded: the test fails on it below
            client.errors.append(f"client crashed: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    deadline_holder.append(time.monotonic() + seconds)
    start.wait()
    for thread in threads:
        thread.join(timeout=seconds + 4 * CALL_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a client never returned"
    report = latency_table(clients, seconds)
    print("\n" + report)

    errors = [error for client in clients for error in client.errors]
    assert not errors, f"{len(errors)} errors, first: {errors[:5]}"
    created = [name for client in clients for name in client.created]
    won = Counter(name for client in clients for name in client.won)
    raced = {name for client in clients for name in client.raced}
    assert created, "no execution was created"
    assert raced, "nobody raced for a name"
    assert sum(c.refused_again for c in clients), "no name was created twice"
    assert all(count == 1 for count in won.values()), [n for n, c in won.items() if c > 1]
    assert set(won) == raced, f"raced for but nobody won: {sorted(raced - set(won))[:5]}"

    names, values = _listed(served.endpoint)
    expected = {*created, *won, HOST}
    listed = Counter(names)
    assert [n for n, c in listed.items() if c > 1] == [], "listed twice"
    assert expected - set(listed) == set(), "acknowledged but lost"
    assert set(listed) - expected == set(), "there without an acknowledgement"
    acknowledged = {k: v for client in clients for k, v in client.signals.items()}
    assert acknowledged, "no signal was set"
    assert {k: values.get(k) for k in acknowledged} == acknowledged

    output = _stop(served)
    assert "database is locked" not in output, output
    assert "Traceback" not in output, output
    with sqlite3.connect(served.db) as db:
        rows = db.execute(
            "SELECT name, COUNT(*) FROM executions WHERE project = ? AND domain = ? GROUP BY name",
            (b.PROJECT, b.DOMAIN),
        ).fetchall()
    assert dict(rows) == dict.fromkeys(expected, 1), "the database file disagrees"


def test_the_engine_holds_the_store_for_one_run_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round of the engine used to step every active run in one transaction, holding the
    store's lock throughout: with a thousand runs waiting at gates every API call waited about
    half a second, and the wait grew with every waiting run (found by the test above: p99 grew
    from 0.4 to 0.8 s in 20 s). Each run now gets its own transaction."""
    from reconciler.localadmin import LocalAdmin, ManualClock
    from reconciler.localadmin.store import Store

    with LocalAdmin(db=tmp_path / "a.db", clock=ManualClock(), data_dir=tmp_path / "d") as admin:
        _setup(admin.endpoint)
        with grpc.insecure_channel(admin.endpoint) as channel:
            stub = admin_pb2_grpc.AdminServiceStub(channel)
            for number in range(5):
                stub.CreateExecution(_gated(f"waiting-{number}"))
        admin.advance(60)  # every run waits at its gate now

        transactions = Counter[int]()
        outer = [0]
        opened = Store.transaction

        def counted(store: Store) -> Any:
            if store._depth == 0:
                outer[0] += 1
            return opened(store)

        stepped: list[tuple[str, int]] = []
        step = admin.engine._step

        def recorded(row: Any) -> bool:
            stepped.append((row["name"], outer[0]))
            transactions[outer[0]] += 1
            return step(row)

        monkeypatch.setattr(Store, "transaction", counted)
        monkeypatch.setattr(admin.engine, "_step", recorded)
        admin.engine.tick()
    assert len(stepped) == 6  # the five runs and signal-host, each waiting
    assert max(transactions.values()) == 1, stepped


def test_a_stopping_engine_ends_its_tick_after_the_step_it_is_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopping the served local Admin after the full-size run above logged "engine tick
    failed: Cannot operate on a closed database": the tick over thousands of waiting runs
    outlasted the ticker's join timeout, and the store was closed under it. Stopping now ends
    the tick after the step in progress."""
    from reconciler.localadmin import LocalAdmin, ManualClock
    from reconciler.localadmin.engine import Ticker

    with LocalAdmin(db=tmp_path / "a.db", clock=ManualClock(), data_dir=tmp_path / "d") as admin:
        _setup(admin.endpoint)
        with grpc.insecure_channel(admin.endpoint) as channel:
            stub = admin_pb2_grpc.AdminServiceStub(channel)
            for number in range(5):
                stub.CreateExecution(_gated(f"waiting-{number}"))
        admin.advance(60)
        stepped: list[str] = []
        step = admin.engine._step

        def stopped_meanwhile(row: Any) -> bool:
            stepped.append(row["name"])
            Ticker(admin.engine).stop()  # what LocalAdmin.stop does, from another thread
            return step(row)

        monkeypatch.setattr(admin.engine, "_step", stopped_meanwhile)
        admin.engine.tick()
    assert len(stepped) == 1, stepped
