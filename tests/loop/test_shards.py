"""``reconcile --shard I/N``: replicas split a tree by project/domain; each reads from Admin only
what it owns, and together they do what one unsharded loop does."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from flyteidl.admin import launch_plan_pb2, project_pb2, task_pb2, workflow_pb2
from flyteidl.service import admin_pb2_grpc
from google.protobuf.message import Message

from reconciler.localadmin import LocalAdmin, ManualClock
from reconciler.shard import Shard, owner
from tests.engine.conftest import WORKFLOW_INPUTS
from tests.localadmin import builders as b

# Same length as builders.PROJECT ("flytesnacks"), so that the registered specs can be copied
# into each project by replacing the name in their bytes.
PROJECTS = [f"flytesnack{i}" for i in range(8)]
DOMAIN = b.DOMAIN


class Recorder(grpc.ServerInterceptor):  # type: ignore[misc]
    """Every project a request names, per call, while armed."""

    def __init__(self) -> None:
        self.armed = False
        self.seen: list[tuple[str, set[tuple[str, str]]]] = []
        self.lock = threading.Lock()

    def intercept_service(self, continuation: Any, details: Any) -> Any:
        handler = continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary

        def recorded(request: Message, context: Any) -> Any:
            if self.armed:
                with self.lock:
                    self.seen.append((details.method, _projects(request)))
            return inner(request, context)

        return grpc.unary_unary_rpc_method_handler(
            recorded,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _projects(message: Message) -> set[tuple[str, str]]:
    """The (project, domain) pairs a request names (a domain left out: "*")."""
    fields = {f.name: v for f, v in message.ListFields()}
    found = set()
    if isinstance(fields.get("project"), str):
        found.add((fields["project"], fields.get("domain", "*")))
    for value in fields.values():
        if isinstance(value, Message):
            found |= _projects(value)
    return found


def _copied(message: Message, project: str) -> Any:
    data = message.SerializeToString().replace(b.PROJECT.encode(), project.encode())
    return type(message).FromString(data)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def admin(tmp_path: Path, recorder: Recorder) -> Iterator[LocalAdmin]:
    with LocalAdmin(
        clock=ManualClock(), data_dir=tmp_path / "admin-data", interceptors=[recorder]
    ) as local:
        with grpc.insecure_channel(local.endpoint) as channel:
            stub = admin_pb2_grpc.AdminServiceStub(channel)
            for project in PROJECTS:
                stub.RegisterProject(
                    project_pb2.ProjectRegisterRequest(
                        project=project_pb2.Project(id=project, name=project)
                    )
                )
                stub.CreateTask(
                    _copied(task_pb2.TaskCreateRequest(id=b.task_id(), spec=b.task_spec()), project)
                )
                workflow = workflow_pb2.WorkflowCreateRequest(
                    id=b.workflow_id(), spec=b.workflow_spec(inputs=WORKFLOW_INPUTS)
                )
                stub.CreateWorkflow(_copied(workflow, project))
                default = launch_plan_pb2.LaunchPlanCreateRequest(
                    id=b.lp_id("wf"), spec=b.lp_spec(b.workflow_id(), types=WORKFLOW_INPUTS)
                )
                stub.CreateLaunchPlan(_copied(default, project))
        yield local


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "manifests"
    root.mkdir()
    (root / "reconciler.yaml").write_text(f"defaults: {{domain: {DOMAIN}}}\nownerId: shards\n")
    for project in PROJECTS:
        (root / f"{project}.yaml").write_text(
            "apiVersion: reconciler/v1\nkind: LaunchPlan\n"
            f"metadata: {{name: daily, project: {project}}}\n"
            "spec:\n  version: v1\n  workflow: {name: wf, version: v1}\n"
            "  defaultInputs: {a: 1, run_date: 2026-11-30T00:00:00Z}\n"
        )
    return root


def _pending(run_cli, admin: LocalAdmin, root: Path) -> set[str]:  # type: ignore[no-untyped-def]
    result = run_cli("plan", root, "-o", "json", "--endpoint", admin.endpoint, "--insecure")
    assert result.code == 0, result.err
    return {c["address"] for c in json.loads(result.out)["changes"] if c["action"] != "noop"}


def test_two_shards_split_the_tree_and_each_reads_only_its_own(  # type: ignore[no-untyped-def]
    run_cli, admin, recorder, tree
) -> None:
    everything = _pending(run_cli, admin, tree)
    assert len(everything) == len(PROJECTS)
    owned = {i: {p for p in PROJECTS if owner(p, DOMAIN, 2) == i} for i in (0, 1)}
    assert owned[0], "the test's projects must land on both shards"
    assert owned[1], "the test's projects must land on both shards"
    shards = {i: Shard(i, 2) for i in (0, 1)}

    done: dict[int, set[str]] = {}
    left = everything
    for index in (0, 1):
        recorder.armed, recorder.seen = True, []
        result = run_cli(
            "reconcile", tree, "--once", "--self-heal", "--prune", "--shard", f"{index}/2",
            "--endpoint", admin.endpoint, "--insecure",
        )  # fmt: skip
        recorder.armed = False
        assert result.code == 0, result.out + result.err
        touched = set().union(*(pairs for _, pairs in recorder.seen))
        assert touched, "the shard read nothing from Admin"
        foreign = [
            (method, pair)
            for method, pairs in recorder.seen
            for pair in pairs
            if pair[1] == "*" or not shards[index].owns(*pair)
        ]
        assert not foreign, f"shard {index} read what it does not own: {foreign}"
        remaining = _pending(run_cli, admin, tree)
        done[index] = left - remaining
        left = remaining

    assert not left  # together: everything one unsharded loop would do
    assert done[0] | done[1] == everything
    assert not done[0] & done[1]
    for index in (0, 1):
        assert {a.split("/")[1] for a in done[index]} == owned[index]


def test_the_shard_comes_from_a_statefulset_pods_hostname() -> None:
    assert Shard.parse("0/3").with_hostname("flyte-reconciler-shard-2") == Shard(2, 3)
    assert Shard.parse("0/3").with_hostname("reconciler-1.reconciler.ns.svc") == Shard(1, 3)
    with pytest.raises(Exception, match="ORDINAL"):
        Shard.parse("0/3").with_hostname("laptop")
    with pytest.raises(Exception, match="need 0 <= I < N"):
        Shard.parse("3/3")
    with pytest.raises(Exception, match="write I/N"):
        Shard.parse("three")
    # stable: the same project/domain lands on the same shard in every process
    assert owner("flytesnacks", "production", 7) == owner("flytesnacks", "production", 7)
