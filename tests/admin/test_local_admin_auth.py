"""The Admin client against the local Admin with authentication required: the token endpoint is
discovered through AuthMetadataService and every call carries the bearer token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.admin.client import AdminClient
from reconciler.config import Connection, Secret
from reconciler.errors import AuthError, Unauthenticated
from reconciler.localadmin import AuthSettings, LocalAdmin, ManualClock


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[LocalAdmin]:
    auth = AuthSettings(
        tokens={"tok-reconciler": "reconciler"},
        clients={"reconciler": "s3cr3t"},
        client_tokens={"reconciler": "tok-reconciler"},
    )
    with LocalAdmin(clock=ManualClock(), data_dir=tmp_path / "data", auth=auth) as admin:
        yield admin


def test_client_secret_against_the_local_admin(secured: LocalAdmin) -> None:
    connection = Connection(
        endpoint=secured.endpoint,
        insecure=True,
        auth_type="ClientSecret",
        client_id="reconciler",
        client_secret=Secret("s3cr3t"),
    )
    with AdminClient(connection, interactive=False) as client:
        assert client.get_version().startswith("v1.16")
        assert [p.id for p in client.list_projects()] == ["flytesnacks"]


def test_without_credentials_the_local_admin_refuses(secured: LocalAdmin) -> None:
    connection = Connection(endpoint=secured.endpoint, insecure=True)
    with AdminClient(connection) as client, pytest.raises(Unauthenticated, match="authType"):
        client.get_version()


def test_a_wrong_secret_is_refused_by_the_token_endpoint(secured: LocalAdmin) -> None:
    connection = Connection(
        endpoint=secured.endpoint,
        insecure=True,
        auth_type="ClientSecret",
        client_id="reconciler",
        client_secret=Secret("wrong"),
    )
    with AdminClient(connection, interactive=False) as client, pytest.raises(AuthError):
        client.get_version()
