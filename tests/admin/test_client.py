"""AdminClient against a loopback gRPC server: error mapping, retries, paging, concurrency."""

from __future__ import annotations

import random
import threading
import time

import grpc
import pytest

from reconciler import errors
from reconciler.admin.client import AdminClient, fetch_all
from reconciler.admin.retry import RetryPolicy
from reconciler.config import Connection
from tests.admin.standins import AdminStandIn


class _Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def _client(admin: AdminStandIn, **kwargs) -> AdminClient:  # type: ignore[no-untyped-def]
    kwargs.setdefault("sleep", _Sleeps())
    return AdminClient(Connection(endpoint=admin.endpoint, insecure=True), **kwargs)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (grpc.StatusCode.NOT_FOUND, errors.NotFound),
        (grpc.StatusCode.ALREADY_EXISTS, errors.AlreadyExists),
        (grpc.StatusCode.INVALID_ARGUMENT, errors.InvalidArgument),
        (grpc.StatusCode.OUT_OF_RANGE, errors.InvalidArgument),
        (grpc.StatusCode.FAILED_PRECONDITION, errors.FailedPrecondition),
        (grpc.StatusCode.ABORTED, errors.FailedPrecondition),
        (grpc.StatusCode.UNAUTHENTICATED, errors.Unauthenticated),
        (grpc.StatusCode.PERMISSION_DENIED, errors.PermissionDenied),
        (grpc.StatusCode.UNIMPLEMENTED, errors.Unimplemented),
        (grpc.StatusCode.INTERNAL, errors.InternalError),
        (grpc.StatusCode.UNKNOWN, errors.InternalError),
        (grpc.StatusCode.DATA_LOSS, errors.InternalError),
    ],
)
def test_status_codes_become_errors_keeping_admins_message(
    admin: AdminStandIn, code: grpc.StatusCode, error: type[errors.AdminError]
) -> None:
    admin.behaviour.failures["GetVersion"] = [code]
    with _client(admin) as client, pytest.raises(error) as raised:
        client.get_version()
    assert raised.value.details == f"GetVersion failed with {code.name} (stand-in)"
    assert str(raised.value).startswith("GetVersion: ")
    assert admin.behaviour.calls["GetVersion"] == 1  # not retried


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (grpc.StatusCode.UNAVAILABLE, errors.Unavailable),
        (grpc.StatusCode.DEADLINE_EXCEEDED, errors.DeadlineExceeded),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, errors.ResourceExhausted),
    ],
)
def test_transient_codes_are_retried_then_succeed(
    admin: AdminStandIn, code: grpc.StatusCode, error: type[errors.AdminError]
) -> None:
    admin.behaviour.failures["GetVersion"] = [code, code]
    sleeps = _Sleeps()
    with _client(admin, sleep=sleeps) as client:
        assert client.get_version() == "v1.16.8-standin"
    assert admin.behaviour.calls["GetVersion"] == 3
    assert len(sleeps.calls) == 2


def test_retries_are_bounded_in_count(admin: AdminStandIn) -> None:
    admin.behaviour.failures["GetVersion"] = [grpc.StatusCode.UNAVAILABLE] * 10
    policy = RetryPolicy(attempts=4)
    with _client(admin, retry=policy) as client, pytest.raises(errors.Unavailable):
        client.get_version()
    assert admin.behaviour.calls["GetVersion"] == 4


def test_retries_are_bounded_in_time(admin: AdminStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    admin.behaviour.failures["GetVersion"] = [grpc.StatusCode.UNAVAILABLE] * 10
    # every pause at its cap: with random ones, 9 short pauses fit in the budget now and then
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    policy = RetryPolicy(attempts=10, initial_backoff=4.0, max_backoff=4.0, total_time=10.0)
    with (
        _client(admin, retry=policy, sleep=sleep, clock=lambda: now[0]) as client,
        pytest.raises(errors.Unavailable),
    ):
        client.get_version()
    assert now[0] < 10.0
    assert admin.behaviour.calls["GetVersion"] < 10


def test_backoff_grows_with_full_jitter_and_a_cap() -> None:
    policy = RetryPolicy(attempts=8, initial_backoff=0.1, max_backoff=1.0, multiplier=2.0)
    caps = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    for seed in range(20):
        delays = list(policy.delays(random.Random(seed)))
        assert len(delays) == 7
        assert all(0 <= d <= cap for d, cap in zip(delays, caps, strict=True))


@pytest.mark.parametrize("count", [0, 1, 99, 100, 101, 250])
def test_paging_follows_tokens_across_page_boundaries(admin: AdminStandIn, count: int) -> None:
    admin.behaviour.projects = [f"p{i:03d}" for i in range(count)]
    with _client(admin) as client:
        ids = [p.id for p in client.list_projects()]
    assert ids == admin.behaviour.projects
    assert admin.behaviour.calls["ListProjects"] == count // 100 + 1


def test_paging_stops_when_admin_repeats_a_token(admin: AdminStandIn) -> None:
    admin.behaviour.projects = [f"p{i}" for i in range(300)]
    admin.behaviour.repeat_token = True
    with _client(admin) as client, pytest.raises(errors.InternalError, match="twice"):
        list(client.list_projects())


def test_unreachable_endpoint_is_one_clear_error_after_bounded_retries() -> None:
    sleeps = _Sleeps()
    client = AdminClient(Connection(endpoint="127.0.0.1:1", insecure=True), sleep=sleeps)
    with client, pytest.raises(errors.Unavailable) as raised:
        client.get_version()
    assert str(raised.value).startswith("GetVersion: cannot reach FlyteAdmin at 127.0.0.1:1 (")
    assert "\n" not in str(raised.value)
    assert len(sleeps.calls) == RetryPolicy().attempts - 1


def test_unauthenticated_without_auth_configured_says_how_to_configure_it(
    admin: AdminStandIn,
) -> None:
    admin.behaviour.require_tokens = {"secret-token"}
    with (
        _client(admin) as client,
        pytest.raises(errors.Unauthenticated, match=r"set admin\.authType"),
    ):
        client.get_version()


def test_an_error_says_how_many_attempts_the_call_took(admin: AdminStandIn) -> None:
    # a create whose first attempt was "lost" (UNAVAILABLE although it may have landed) and
    # whose retry meets ALREADY_EXISTS: apply must know the entity may be its own
    admin.behaviour.failures["GetVersion"] = [
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.ALREADY_EXISTS,
    ]
    with _client(admin) as client, pytest.raises(errors.AlreadyExists) as raised:
        client.get_version()
    assert raised.value.attempts == 2
    assert admin.behaviour.calls["GetVersion"] == 2
    admin.behaviour.failures["GetVersion"] = [grpc.StatusCode.ALREADY_EXISTS]
    with _client(admin) as client, pytest.raises(errors.AlreadyExists) as raised:
        client.get_version()
    assert raised.value.attempts == 1


def test_fetch_all_keeps_order_and_bounds_concurrency() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    def work(i: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.01)
        with lock:
            running -= 1
        return i * i

    assert fetch_all(work, range(40), parallelism=4) == [i * i for i in range(40)]
    assert 1 < peak <= 4


def test_fetch_all_raises_the_first_error() -> None:
    def work(i: int) -> int:
        if i == 3:
            raise errors.NotFound("missing", method="GetX")
        return i

    with pytest.raises(errors.NotFound):
        fetch_all(work, range(10), parallelism=3)
