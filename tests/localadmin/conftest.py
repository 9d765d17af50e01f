from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from flyteidl.admin import (
    common_pb2,
    execution_pb2,
    launch_plan_pb2,
    task_pb2,
    workflow_pb2,
)
from flyteidl.service import admin_pb2_grpc, dataproxy_pb2_grpc, signal_pb2_grpc

from reconciler.localadmin import LocalAdmin, ManualClock
from tests.localadmin import builders as b


@pytest.fixture
def admin(tmp_path: Any) -> Iterator[LocalAdmin]:
    with LocalAdmin(clock=ManualClock(), data_dir=tmp_path / "data") as running:
        yield running


@pytest.fixture
def channel(admin: LocalAdmin) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(admin.endpoint) as opened:
        yield opened


@pytest.fixture
def stub(channel: grpc.Channel) -> admin_pb2_grpc.AdminServiceStub:
    return admin_pb2_grpc.AdminServiceStub(channel)


@pytest.fixture
def signals(channel: grpc.Channel) -> signal_pb2_grpc.SignalServiceStub:
    return signal_pb2_grpc.SignalServiceStub(channel)


@pytest.fixture
def dataproxy(channel: grpc.Channel) -> dataproxy_pb2_grpc.DataProxyServiceStub:
    return dataproxy_pb2_grpc.DataProxyServiceStub(channel)


def rpc_error(call: Callable[[], object]) -> grpc.RpcError:
    """Run a call that must fail and return its error (status code and details)."""
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value


def register_basics(stub: admin_pb2_grpc.AdminServiceStub, lp: Any = None) -> None:
    """Task ``t``, workflow ``wf`` (a: int -> o0: int) and launch plan ``lp`` (a defaults 1)."""
    stub.CreateTask(task_pb2.TaskCreateRequest(id=b.task_id(), spec=b.task_spec()))
    stub.CreateWorkflow(
        workflow_pb2.WorkflowCreateRequest(id=b.workflow_id(), spec=b.workflow_spec())
    )
    stub.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(
            id=b.lp_id(), spec=lp or b.lp_spec(defaults={"a": b.int_literal(1)})
        )
    )


def get_execution(stub: admin_pb2_grpc.AdminServiceStub, name: str) -> execution_pb2.Execution:
    return stub.GetExecution(execution_pb2.WorkflowExecutionGetRequest(id=execution_id(name)))


def execution_id(name: str) -> Any:
    from flyteidl.core import identifier_pb2

    return identifier_pb2.WorkflowExecutionIdentifier(project=b.PROJECT, domain=b.DOMAIN, name=name)


def list_request(
    limit: int = 100,
    filters: str = "",
    token: str = "",
    name: str = "",
    sort: common_pb2.Sort | None = None,
) -> common_pb2.ResourceListRequest:
    request = common_pb2.ResourceListRequest(
        id=common_pb2.NamedEntityIdentifier(project=b.PROJECT, domain=b.DOMAIN, name=name),
        limit=limit,
        filters=filters,
        token=token,
    )
    if sort is not None:
        request.sort_by.CopyFrom(sort)
    return request
