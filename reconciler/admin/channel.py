"""A gRPC channel to Admin configured the way flytekit and flytectl configure theirs."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Sequence

import grpc

from reconciler.config import Connection
from reconciler.errors import ConfigError

# Workflow closures of big workflows exceed gRPC's 4 MiB default.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
CHANNEL_OPTIONS: Sequence[tuple[str, int]] = (
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    # Keepalive pings only while calls are open; servers GOAWAY clients that ping idle channels
    # more often than every five minutes (grpc-go's default enforcement policy).
    ("grpc.keepalive_time_ms", 60_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.keepalive_permit_without_calls", 0),
    # Fail fast on a dead endpoint instead of reconnecting for minutes: retries are ours.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
)


def open_channel(
    connection: Connection, interceptors: Sequence[grpc.UnaryUnaryClientInterceptor] = ()
) -> grpc.Channel:
    target = connection.endpoint
    if connection.insecure:
        channel = grpc.insecure_channel(target, options=CHANNEL_OPTIONS)
    else:
        channel = grpc.secure_channel(target, _credentials(connection), options=CHANNEL_OPTIONS)
    return grpc.intercept_channel(channel, *interceptors) if interceptors else channel


def _credentials(connection: Connection) -> grpc.ChannelCredentials:
    if connection.ca_cert_file_path is not None:
        try:
            roots = connection.ca_cert_file_path.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"cannot read caCertFilePath {connection.ca_cert_file_path}: {exc.strerror}"
            ) from exc
        return grpc.ssl_channel_credentials(root_certificates=roots)
    if connection.insecure_skip_verify:
        # grpc-python cannot turn verification off; like flytekit, trust whatever certificate
        # the server presents by fetching it first and using it as the only root.
        return grpc.ssl_channel_credentials(root_certificates=_server_certificate(connection))
    return grpc.ssl_channel_credentials()  # the system roots


def _server_certificate(connection: Connection) -> bytes:
    host, _, port = connection.endpoint.rpartition(":")
    if not host:
        host, port = connection.endpoint, "443"
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, int(port)), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot fetch the TLS certificate of {connection.endpoint}: {exc}"
        ) from exc
    if der is None:
        raise ConfigError(f"{connection.endpoint} presented no TLS certificate")
    return ssl.DER_cert_to_PEM_cert(der).encode()
