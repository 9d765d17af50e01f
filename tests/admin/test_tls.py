"""TLS: the system roots by default, a CA file, or trusting what the server presents."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from reconciler.admin.client import AdminClient
from reconciler.admin.retry import RetryPolicy
from reconciler.config import Connection
from reconciler.errors import Unavailable
from tests.admin.standins import AdminStandIn


def _self_signed() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def tls_admin() -> Iterator[tuple[AdminStandIn, bytes]]:
    key, cert = _self_signed()
    with AdminStandIn(tls=(key, cert)) as admin:
        yield admin, cert


def test_ca_cert_file_path_trusts_a_private_ca(tls_admin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    admin, cert = tls_admin
    ca = tmp_path / "ca.pem"
    ca.write_bytes(cert)
    connection = Connection(endpoint=f"localhost:{admin.port}", ca_cert_file_path=ca)
    with AdminClient(connection) as client:
        assert client.get_version() == "v1.16.8-standin"


def test_insecure_skip_verify_trusts_the_presented_certificate(tls_admin) -> None:  # type: ignore[no-untyped-def]
    admin, _ = tls_admin
    connection = Connection(endpoint=f"localhost:{admin.port}", insecure_skip_verify=True)
    with AdminClient(connection) as client:
        assert client.get_version() == "v1.16.8-standin"


def test_an_untrusted_certificate_is_refused(tls_admin) -> None:  # type: ignore[no-untyped-def]
    admin, _ = tls_admin
    connection = Connection(endpoint=f"localhost:{admin.port}")
    client = AdminClient(connection, retry=RetryPolicy(attempts=1))
    with (
        client,
        pytest.raises(Unavailable, match=f"cannot reach FlyteAdmin at localhost:{admin.port}"),
    ):
        client.get_version()


def test_plain_text_client_cannot_talk_to_a_tls_server(tls_admin) -> None:  # type: ignore[no-untyped-def]
    admin, _ = tls_admin
    client = AdminClient(
        Connection(endpoint=f"127.0.0.1:{admin.port}", insecure=True), retry=RetryPolicy(attempts=1)
    )
    with client, pytest.raises(Unavailable):
        client.get_version()
