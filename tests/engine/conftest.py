"""The plan/apply engine against the local Admin over real gRPC on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from flyteidl.admin import launch_plan_pb2, task_pb2, workflow_pb2
from flyteidl.core import identifier_pb2
from flyteidl.service import admin_pb2_grpc

from reconciler.localadmin import LocalAdmin, ManualClock
from tests.conftest import write
from tests.engine import file_entities
from tests.localadmin import builders as b

PROJECT, DOMAIN = b.PROJECT, b.DOMAIN
WORKFLOW_INPUTS = {"a": b.INT, "region": b.STR, "run_date": b.DATETIME}


@pytest.fixture
def local_admin(tmp_path: Path) -> Iterator[LocalAdmin]:
    with LocalAdmin(clock=ManualClock(), data_dir=tmp_path / "admin-data") as admin:
        yield admin


@pytest.fixture
def stub(local_admin: LocalAdmin) -> Iterator[admin_pb2_grpc.AdminServiceStub]:
    with grpc.insecure_channel(local_admin.endpoint) as channel:
        yield admin_pb2_grpc.AdminServiceStub(channel)


def register_example(stub: admin_pb2_grpc.AdminServiceStub) -> identifier_pb2.Identifier:
    """Task ``t``, workflow ``wf`` (a: int, region: str = "eu", run_date: datetime) and its
    default launch plan, at version v1, as a pyflyte registration leaves them."""
    stub.CreateTask(task_pb2.TaskCreateRequest(id=b.task_id(), spec=b.task_spec()))
    workflow = b.workflow_id()
    stub.CreateWorkflow(
        workflow_pb2.WorkflowCreateRequest(
            id=workflow, spec=b.workflow_spec(inputs=WORKFLOW_INPUTS)
        )
    )
    default = b.lp_spec(workflow, defaults={"region": b.str_literal("eu")}, types=WORKFLOW_INPUTS)
    stub.CreateLaunchPlan(launch_plan_pb2.LaunchPlanCreateRequest(id=b.lp_id("wf"), spec=default))
    return workflow


@pytest.fixture
def registered(stub: admin_pb2_grpc.AdminServiceStub) -> identifier_pb2.Identifier:
    return register_example(stub)


def settings(tmp_path: Path, owner: str = "team-manifests") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "reconciler.yaml").write_text(
        f"defaults: {{project: {PROJECT}, domain: {DOMAIN}}}\nownerId: {owner}\n"
    )
    return tmp_path


@pytest.fixture
def crunch_remote(local_admin: LocalAdmin) -> Any:
    """flytekit's ``FlyteRemote`` on the local Admin, with ``file_entities.crunch`` (file and
    directory inputs and outputs) registered at v1."""
    from flytekit.configuration import Config, ImageConfig, SerializationSettings
    from flytekit.remote import FlyteRemote

    remote = FlyteRemote(
        Config.for_endpoint(local_admin.endpoint, insecure=True),
        default_project=PROJECT,
        default_domain=DOMAIN,
    )
    serialization = SerializationSettings(
        image_config=ImageConfig.auto_default_image(),
        project=PROJECT,
        domain=DOMAIN,
        version="v1",
    )
    remote.register_workflow(file_entities.crunch, serialization, version="v1")
    return remote


@pytest.fixture
def file_tree(tmp_path: Path) -> Path:
    """Manifests with an Execution of ``crunch`` from the local files beside them."""
    root = settings(tmp_path / "manifests")
    (root / "data").mkdir()
    (root / "data" / "jan.csv").write_bytes(file_entities.CONTENT)
    write(root / "data" / "parts" / "a.txt", "part a\n")
    write(root / "data" / "parts" / "nested" / "b.txt", "part b\n")
    write(root / "run.yaml", file_entities.run_manifest())
    return root
