from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.admin.standins import AdminStandIn, OAuthServer


@pytest.fixture
def admin() -> Iterator[AdminStandIn]:
    with AdminStandIn() as server:
        yield server


@pytest.fixture
def oauth() -> Iterator[OAuthServer]:
    with OAuthServer() as server:
        yield server


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
