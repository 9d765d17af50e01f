"""Apply through a flaky network to an overloaded Admin: 30% of calls (the blob server's upload
PUTs among them) delayed, failed with a transient status, cut by a real connection reset, or
answered with an error after the write was committed. Apply converges, the plan after it is
empty, and Admin holds no duplicate.

Convergence is counted in ``reconciler apply`` runs, as a CI job or the reconcile loop would
re-run them. The tree needs two runs per stage without faults (the runs must fail, and the gates
be reached, before recover, relaunch and the signals are due), and, the retry budget being per
call (5 attempts), a run at 30% faults ends with some call out of attempts now and then: it
then lists what failed and exits 1, and the next run picks up the rest. ``MAX_RUNS`` bounds
that. CI runs one fault seed; ``make reliability`` more (``RELIABILITY_FAULT_SEEDS``).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import grpc
import pytest
from flyteidl.admin import common_pb2, execution_pb2, version_pb2
from flyteidl.service import admin_pb2_grpc

from reconciler.localadmin import LocalAdmin, ManualClock
from reconciler.localadmin.faults import Fault, FaultInjector, Faults, KillClient, ResetProxy
from tests.localadmin import builders as b
from tests.localadmin.conftest import execution_id, register_basics
from tests.reliability import support
from tests.reliability.tree import write_tree

MAX_RUNS = 6
"""``reconciler apply`` runs per stage; 2 are needed without faults."""
TRANSIENT = re.compile(
    r"cannot reach FlyteAdmin|did not answer in time|too many requests"
    r"|uploading \S+ failed after \d+ attempts"  # the blob server's PUT is faulted too
)


# --- the injector itself ------------------------------------------------------------------


def _version(stub: admin_pb2_grpc.AdminServiceStub) -> str:
    try:
        stub.GetVersion(version_pb2.GetVersionRequest(), timeout=10)
    except grpc.RpcError as exc:
        return str(exc.code().name)
    return "OK"


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        (Fault.UNAVAILABLE, "UNAVAILABLE"),
        (Fault.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED"),
        (Fault.RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED"),
        (Fault.RESET, "UNAVAILABLE"),
        (Fault.DELAY, "OK"),
    ],
)
def test_each_fault_fails_exactly_the_chosen_call(kind: Fault, code: str) -> None:
    faults = Faults(calls=frozenset({2}), kinds=(kind,))
    with (
        LocalAdmin(clock=ManualClock(), faults=faults) as admin,
        grpc.insecure_channel(admin.endpoint) as channel,
    ):
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        seen = [_version(stub) for _ in range(3)]
        # a reset also breaks the channel's connection for the next call, as a real one does
        retried = [_version(stub) for _ in range(2)]
    assert seen[:2] == ["OK", code]
    assert retried[-1] == "OK"
    assert admin.fault_injector is not None
    assert admin.fault_injector.injected.faults == Counter({kind: 1})


@pytest.mark.parametrize("kind", [Fault.DROP_RESPONSE, Fault.RESET_AFTER_COMMIT])
def test_a_dropped_response_comes_after_the_write_is_committed(kind: Fault) -> None:
    faults = Faults(calls=frozenset({4}), kinds=(kind,), methods=frozenset({"CreateExecution"}))
    with (
        LocalAdmin(clock=ManualClock(), faults=faults) as admin,
        grpc.insecure_channel(admin.endpoint) as channel,
    ):
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        register_basics(stub)  # calls 1 to 3
        with pytest.raises(grpc.RpcError) as raised:
            stub.CreateExecution(b.execution_request("run-1"), timeout=10)
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        # read back on a new connection: after a reset, the old channel may still hand the next
        # call to the dead socket before it notices (UNAVAILABLE "Stream removed"), which a real
        # client retries; this test is about what the server committed, not about reconnecting
        with grpc.insecure_channel(admin.endpoint) as fresh:
            reader = admin_pb2_grpc.AdminServiceStub(fresh)
            stored = reader.GetExecution(
                execution_pb2.WorkflowExecutionGetRequest(id=execution_id("run-1")), timeout=10
            )
            listed = reader.ListExecutions(
                common_pb2.ResourceListRequest(
                    id=common_pb2.NamedEntityIdentifier(project=b.PROJECT, domain=b.DOMAIN),
                    limit=10,
                ),
                timeout=10,
            )
    assert stored.id.name == "run-1"  # the client saw an error, yet the run exists, once
    assert [e.id.name for e in listed.executions] == ["run-1"]


def test_seeded_rate_faults_the_same_calls_every_time() -> None:
    def faulted(seed: int) -> list[int]:
        injector = FaultInjector(Faults(rate=0.3, seed=seed, kinds=(Fault.UNAVAILABLE,)))
        return [n for n in range(1, 201) if injector.decide("GetVersion") is not None]

    first = faulted(7)
    assert first == faulted(7)
    assert first != faulted(8)
    assert 40 <= len(first) <= 80  # about 30% of 200


def test_faults_start_after_the_first_calls() -> None:
    injector = FaultInjector(Faults(rate=1.0, after=3, kinds=(Fault.UNAVAILABLE,)))
    assert [injector.decide("GetVersion") for _ in range(5)] == [
        None,
        None,
        None,
        Fault.UNAVAILABLE,
        Fault.UNAVAILABLE,
    ]


def test_resets_need_the_proxy() -> None:
    with pytest.raises(ValueError, match="ResetProxy"):
        FaultInjector(Faults(rate=0.1, kinds=(Fault.RESET,)))
    proxy = ResetProxy(("127.0.0.1", 9))
    proxy.stop()  # never started: nothing to join
    assert KillClient(0).calls == 0


# --- apply under faults -------------------------------------------------------------------


def _converge(admin: LocalAdmin, root: Path, log: list[str]) -> int:
    """Apply runs (the clock moved on an hour after each) until the plan is empty; how many."""
    injector = admin.fault_injector
    assert injector is not None
    for attempt in range(1, MAX_RUNS + 1):
        applied = support.run("apply", root, "--auto-approve", endpoint=admin.endpoint)
        failed = [line for line in applied.out.splitlines() if line.startswith("  failed: ")]
        log.append(f"apply {attempt}: exit {applied.code}, {len(failed)} failed")
        # an apply that failed says so, and only for what the faults explain
        assert applied.code in (0, 1), applied.text
        if applied.code == 1:
            why = failed or [applied.err]
            assert all(TRANSIENT.search(line) for line in why), applied.text
        else:
            assert not failed, applied.text
        admin.advance(3600)
        injector.enabled = False  # the check is not under test
        plan = support.run("plan", root, "--detailed-exitcode", endpoint=admin.endpoint)
        injector.enabled = True
        assert plan.code in (0, 2), plan.text
        if plan.code == 0 and applied.code == 0:
            return attempt
    raise AssertionError(f"no convergence in {MAX_RUNS} apply runs: {log}")


@pytest.mark.reliability
@pytest.mark.timeout(0 if support.FULL else 300)
@pytest.mark.parametrize("seed", support.fault_seeds())
def test_apply_converges_with_30_percent_of_calls_faulted(
    package: Path, tmp_path: Path, seed: int
) -> None:
    faults = Faults(rate=0.3, seed=seed, delay=0.2)
    root = tmp_path / "tree"
    log: list[str] = []
    with support.serve(tmp_path / "admin", faults=faults) as admin:
        injector = admin.fault_injector
        assert injector is not None
        runs = []
        for stage in ("base", "full"):
            write_tree(root, package, stage)
            runs.append(_converge(admin, root, log))
        injector.enabled = False
        state = support.read_state(admin.endpoint)
        injected = injector.injected
    summary = ", ".join(f"{k.value} {n}" for k, n in sorted(injected.faults.items()))
    print(f"seed {seed}: {injected.total} of {injected.calls} calls faulted ({summary}); {log}")
    assert injected.total >= 0.2 * injected.calls  # the faults did happen
    assert set(injected.faults) == set(Fault)
    assert state.problems() == []
    # the end state, counted: every run of the tree once, each due attempt once
    assert len(state.runs) == 48, sorted(state.runs)
    assert sum(1 for r in state.runs.values() if r[2] in ("RECOVERED", "RELAUNCH")) == 8
    assert len(state.signals) == 8
    assert all(len(versions) == 1 for versions in state.active.values())
    assert len(state.active) == 12
    assert all(runs), runs
