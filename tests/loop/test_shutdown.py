"""SIGTERM in the middle of an apply of 200 executions: the loop stops starting new ones, lets
those in flight finish, exits 0, and the next pass creates the rest exactly once."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from flyteidl.admin import common_pb2, execution_pb2

from tests.engine.conftest import DOMAIN, PROJECT
from tests.loop.conftest import Gate, eventually

RUNS = 200


@pytest.fixture
def gate() -> Iterator[Gate]:
    """Overrides the loop tests' gate: hold CreateExecution calls once armed."""
    held = Gate("CreateExecution")
    yield held
    held.released.set()


def _executions(stub) -> list[execution_pb2.Execution]:  # type: ignore[no-untyped-def]
    found: list[execution_pb2.Execution] = []
    token = ""
    while True:
        page = stub.ListExecutions(
            common_pb2.ResourceListRequest(
                id=common_pb2.NamedEntityIdentifier(project=PROJECT, domain=DOMAIN),
                limit=100,
                token=token,
            )
        )
        found.extend(page.executions)
        token = page.token
        if not token:
            return found


def test_sigterm_during_an_apply_of_200_executions_exits_0_and_the_next_pass_converges(  # type: ignore[no-untyped-def]
    run_cli, local_admin, stub, manifests, gate, start_loop
) -> None:
    runs = manifests / "runs.yaml"
    runs.write_text(
        "---\n".join(
            "apiVersion: reconciler/v1\nkind: Execution\n"
            f"metadata: {{name: run-{i:03d}}}\n"
            "spec: {launchPlan: {name: daily}, inputs: {run_date: 2026-11-30T00:00:00Z}}\n"
            for i in range(RUNS)
        )
    )
    endpoint = ("--endpoint", local_admin.endpoint, "--insecure")
    # the launch plan first, so that the pass under test is all executions
    assert (
        run_cli(
            "apply", manifests, "--auto-approve", "--target", "LaunchPlan/daily", *endpoint
        ).code
        == 0
    )
    gate.armed.set()
    loop = start_loop(manifests, "--interval", "1h", "--self-heal")
    eventually(gate.entered.is_set, "an execution create in flight")
    loop.signal(signal.SIGTERM)
    eventually(lambda: "SIGTERM: stopping" in loop.err, "the loop to stop")
    gate.armed.clear()
    gate.released.set()
    assert loop.wait() == 0, loop.err

    created = _executions(stub)
    assert 0 < len(created) < RUNS, "SIGTERM must stop new creates mid-apply"
    # nothing half-made: every run that exists is complete and carries the reconciler's marks
    for execution in created:
        assert execution.spec.launch_plan.name == "daily"
        assert "reconciler.flyte.org/spec" in execution.spec.labels.values

    finish = run_cli("reconcile", manifests, "--once", "--self-heal", *endpoint)
    assert finish.code == 0, finish.out + finish.err
    names = [e.id.name for e in _executions(stub)]
    assert sorted(names) == [f"run-{i:03d}" for i in range(RUNS)]  # each exactly once
    assert run_cli("plan", manifests, "--detailed-exitcode", *endpoint).code == 0
