"""``AdminClient.upload`` against the local Admin's DataProxy and blob server, with the blob
server's PUT faulted as a flaky network and an overloaded bucket fault it: each fault is what
HTTP makes of it, the PUT is retried as gRPC calls are, an expired signed URL is asked for
again, and no error or log line holds the signed URL (a credential)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from flyteidl.service import dataproxy_pb2

from reconciler.admin.client import AdminClient
from reconciler.admin.retry import NO_RETRY, RetryPolicy
from reconciler.config import Connection
from reconciler.errors import ReconcilerError
from reconciler.localadmin import LocalAdmin, ManualClock
from reconciler.localadmin.faults import BLOB_PUT, Fault, Faults

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

BODY = b"region,amount\neu,10\n"
DIGEST = hashlib.md5(BODY).hexdigest()
REQUEST = dataproxy_pb2.CreateUploadLocationRequest(
    project="flytesnacks",
    domain="development",
    filename="jan.csv",
    filename_root=DIGEST,
    content_md5=hashlib.md5(BODY).digest(),
)


class _ExpireLocations(grpc.ServerInterceptor):  # type: ignore[misc]
    """Moves the clock two hours on after each of the first ``times`` upload locations asked
    for with an MD5: the signed URL has expired by the time the client PUTs to it."""

    def __init__(self, clock: ManualClock, times: int) -> None:
        self.clock = clock
        self.times = times
        self.given = 0

    def intercept_service(self, continuation: Any, details: Any) -> Any:
        handler = continuation(details)
        if not details.method.endswith("/CreateUploadLocation"):
            return handler
        behaviour = handler.unary_unary

        def expiring(request: Any, context: grpc.ServicerContext) -> Any:
            response = behaviour(request, context)
            if request.content_md5:
                self.given += 1
                if self.given <= self.times:
                    self.clock.advance(7200)
            return response

        return grpc.unary_unary_rpc_method_handler(
            expiring,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


@contextmanager
def _serving(
    tmp_path: Path, faults: Faults | None = None, expire: int = 0
) -> Iterator[tuple[LocalAdmin, _ExpireLocations]]:
    clock = ManualClock()
    expiring = _ExpireLocations(clock, expire)
    with LocalAdmin(
        clock=clock, data_dir=tmp_path / "data", faults=faults, interceptors=[expiring]
    ) as admin:
        yield admin, expiring


def _client(
    admin: LocalAdmin, sleeps: list[float], retry: RetryPolicy | None = None
) -> AdminClient:
    connection = Connection(endpoint=admin.endpoint, insecure=True)
    return AdminClient(connection, retry=retry, sleep=sleeps.append)


def _stored(admin: LocalAdmin) -> Path:
    return admin.data_dir / "blobs" / "flytesnacks" / "development" / DIGEST / "jan.csv"


def _put_faults(kind: Fault, limit: int | None) -> Faults:
    return Faults(rate=1.0, kinds=(kind,), methods=frozenset({BLOB_PUT}), limit=limit)


def _no_credential(message: str) -> None:
    assert "jan.csv" in message
    assert "signature" not in message
    assert "http://" not in message


@pytest.mark.parametrize(
    ("kind", "said", "written"),
    [
        (Fault.UNAVAILABLE, "HTTP 503", False),
        (Fault.RESOURCE_EXHAUSTED, "HTTP 503", False),
        (Fault.DEADLINE_EXCEEDED, "HTTP 504", False),
        (Fault.RESET, "no answer from the blob store", False),
        (Fault.DROP_RESPONSE, "HTTP 503", True),
        (Fault.RESET_AFTER_COMMIT, "no answer from the blob store", True),
    ],
)
def test_each_fault_on_the_put_is_what_http_makes_of_it(
    tmp_path: Path, kind: Fault, said: str, written: bool
) -> None:
    with (
        _serving(tmp_path, _put_faults(kind, limit=1)) as (admin, _),
        _client(admin, [], NO_RETRY) as client,
    ):
        with pytest.raises(ReconcilerError) as failed:
            client.upload(REQUEST, BODY)
        assert str(failed.value).startswith("uploading jan.csv failed after 1 attempt: ")
        assert said in str(failed.value)
        _no_credential(str(failed.value))
        assert _stored(admin).exists() is written
        assert admin.fault_injector is not None
        assert admin.fault_injector.injected.by_method == {BLOB_PUT: 1}


@pytest.mark.parametrize("kind", [k for k in Fault if k is not Fault.DELAY])
def test_a_faulted_put_is_retried_with_backoff_until_the_blob_is_there(
    tmp_path: Path, kind: Fault
) -> None:
    sleeps: list[float] = []
    with (
        _serving(tmp_path, _put_faults(kind, limit=3)) as (admin, _),
        _client(admin, sleeps) as client,
    ):
        client.upload(REQUEST, BODY)
        assert _stored(admin).read_bytes() == BODY
        assert admin.fault_injector is not None
        assert admin.fault_injector.injected.by_method == {BLOB_PUT: 3}
    assert len(sleeps) == 3


def test_put_retries_are_bounded_by_the_retry_policy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sleeps: list[float] = []
    caplog.set_level(logging.DEBUG)
    with (
        _serving(tmp_path, _put_faults(Fault.UNAVAILABLE, limit=None)) as (admin, _),
        _client(admin, sleeps) as client,
    ):
        with pytest.raises(ReconcilerError, match="after 5 attempts: the blob store") as failed:
            client.upload(REQUEST, BODY)
        _no_credential(str(failed.value))
    assert "signature" not in caplog.text
    assert len(sleeps) == 4


def test_an_expired_signed_url_is_asked_for_again(tmp_path: Path) -> None:
    sleeps: list[float] = []
    with _serving(tmp_path, expire=1) as (admin, expiring), _client(admin, sleeps) as client:
        client.upload(REQUEST, BODY)
        assert _stored(admin).read_bytes() == BODY
        assert expiring.given == 2
    assert sleeps == []


def test_a_url_refused_twice_fails_naming_the_file_not_the_url(tmp_path: Path) -> None:
    with _serving(tmp_path, expire=10) as (admin, expiring), _client(admin, []) as client:
        with pytest.raises(ReconcilerError, match="HTTP 403") as failed:
            client.upload(REQUEST, BODY)
        _no_credential(str(failed.value))
        assert expiring.given == 2  # asked for again once, not in a loop
        assert not _stored(admin).exists()
