"""AuthMetadataService, the required-auth mode, the token endpoint and DataProxy uploads."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from flyteidl.admin import project_pb2
from flyteidl.service import (
    admin_pb2_grpc,
    auth_pb2,
    auth_pb2_grpc,
    dataproxy_pb2,
    dataproxy_pb2_grpc,
)

from reconciler.localadmin import AuthSettings, LocalAdmin, ManualClock
from tests.localadmin import builders as b
from tests.localadmin.conftest import get_execution, register_basics, rpc_error

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

AUTH = AuthSettings(
    tokens={"tok-alice": "alice"}, clients={"ci": "s3cret"}, client_tokens={"ci": "tok-alice"}
)


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[LocalAdmin]:
    with LocalAdmin(clock=ManualClock(), data_dir=tmp_path / "data", auth=AUTH) as running:
        yield running


def _bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def test_calls_without_a_token_are_unauthenticated(secured: LocalAdmin) -> None:
    with grpc.insecure_channel(secured.endpoint) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        error = rpc_error(lambda: stub.GetProject(project_pb2.ProjectGetRequest(id="flytesnacks")))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        wrong = rpc_error(
            lambda: stub.GetProject(
                project_pb2.ProjectGetRequest(id="flytesnacks"), metadata=_bearer("nope")
            )
        )
        assert wrong.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_known_token_is_let_in_and_becomes_the_principal(secured: LocalAdmin) -> None:
    with grpc.insecure_channel(secured.endpoint) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        project = stub.GetProject(
            project_pb2.ProjectGetRequest(id="flytesnacks"), metadata=_bearer("tok-alice")
        )
        assert project.id == "flytesnacks"
        authed = _Authed(stub, "tok-alice")
        register_basics(authed)  # type: ignore[arg-type]
        authed.CreateExecution(b.execution_request("mine"))
        assert get_execution(authed, "mine").spec.metadata.principal == "alice"  # type: ignore[arg-type]


class _Authed:
    """An AdminService stub that sends a bearer token with every call."""

    def __init__(self, stub: admin_pb2_grpc.AdminServiceStub, token: str) -> None:
        self._stub = stub
        self._token = token

    def __getattr__(self, name: str) -> object:
        method = getattr(self._stub, name)
        return lambda request: method(request, metadata=_bearer(self._token))


def test_auth_metadata_stays_open_and_names_the_token_endpoint(secured: LocalAdmin) -> None:
    with grpc.insecure_channel(secured.endpoint) as channel:
        stub = auth_pb2_grpc.AuthMetadataServiceStub(channel)
        metadata = stub.GetOAuth2Metadata(auth_pb2.OAuth2MetadataRequest())
        client = stub.GetPublicClientConfig(auth_pb2.PublicClientAuthConfigRequest())
    assert metadata.token_endpoint.endswith("/oauth2/token")
    assert metadata.token_endpoint.startswith("http://127.0.0.1:")
    assert client.authorization_metadata_key == "flyte-authorization"


def test_token_endpoint_issues_tokens_to_known_clients_only(secured: LocalAdmin) -> None:
    url = f"{secured.blobs.base_url}/oauth2/token"

    def post(client_id: str, secret: str) -> dict[str, object]:
        body = urllib.parse.urlencode({"grant_type": "client_credentials"}).encode()
        request = urllib.request.Request(url, data=body, method="POST")
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        request.add_header("Authorization", f"Basic {basic}")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    assert post("ci", "s3cret")["access_token"] == "tok-alice"
    with pytest.raises(urllib.error.HTTPError) as refused:
        post("ci", "wrong")
    assert refused.value.code == 401
    refused.value.close()  # an HTTPError holds the response open


def test_flytekit_client_secret_flow_gets_a_token_and_is_let_in(secured: LocalAdmin) -> None:
    from flytekit.configuration import Config, PlatformConfig
    from flytekit.remote import FlyteRemote

    config = Config(
        platform=PlatformConfig(
            endpoint=secured.endpoint,
            insecure=True,
            auth_mode="ClientSecret",
            client_id="ci",
            client_credentials_secret="s3cret",
        )
    )
    remote = FlyteRemote(config, default_project="flytesnacks", default_domain="development")
    assert [d.id for d in remote.client.get_domains()] == ["development", "staging", "production"]


def _upload_location(
    stub: dataproxy_pb2_grpc.DataProxyServiceStub, body: bytes
) -> dataproxy_pb2.CreateUploadLocationResponse:
    return stub.CreateUploadLocation(
        dataproxy_pb2.CreateUploadLocationRequest(
            project="flytesnacks",
            domain="development",
            filename="code.tar.gz",
            content_md5=hashlib.md5(body).digest(),
        )
    )


def _put(url: str, body: bytes, md5: bytes) -> int:
    request = urllib.request.Request(url, data=body, method="PUT")
    request.add_header("Content-MD5", base64.b64encode(md5).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()  # an HTTPError holds the response open
        return exc.code


def test_upload_with_matching_md5_lands_at_the_native_url(
    dataproxy: dataproxy_pb2_grpc.DataProxyServiceStub,
) -> None:
    body = b"fast register tarball"
    location = _upload_location(dataproxy, body)
    assert location.signed_url.startswith("http://127.0.0.1:")
    assert _put(location.signed_url, body, hashlib.md5(body).digest()) == 200
    native = Path(urllib.parse.urlparse(location.native_url).path)
    assert native.read_bytes() == body


def test_upload_with_mismatched_md5_is_rejected_with_400(
    dataproxy: dataproxy_pb2_grpc.DataProxyServiceStub,
) -> None:
    body = b"fast register tarball"
    location = _upload_location(dataproxy, body)
    assert _put(location.signed_url, body, hashlib.md5(b"other").digest()) == 400
    assert _put(location.signed_url, b"other", hashlib.md5(b"other").digest()) == 400


def test_upload_with_a_tampered_signature_is_forbidden(
    dataproxy: dataproxy_pb2_grpc.DataProxyServiceStub,
) -> None:
    body = b"x"
    location = _upload_location(dataproxy, body)
    tampered = location.signed_url.replace("signature=", "signature=0")
    assert _put(tampered, body, hashlib.md5(body).digest()) == 403


def test_upload_location_needs_an_md5_or_a_root(
    dataproxy: dataproxy_pb2_grpc.DataProxyServiceStub,
) -> None:
    request = dataproxy_pb2.CreateUploadLocationRequest(project="flytesnacks", domain="development")
    error = rpc_error(lambda: dataproxy.CreateUploadLocation(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "content_md5 or filename_root is a required parameter" in error.details()


def test_a_named_upload_is_only_rewritten_with_the_matching_hash(
    dataproxy: dataproxy_pb2_grpc.DataProxyServiceStub,
) -> None:
    body = b"v1"

    def location(md5: bytes) -> dataproxy_pb2.CreateUploadLocationResponse:
        return dataproxy.CreateUploadLocation(
            dataproxy_pb2.CreateUploadLocationRequest(
                project="flytesnacks",
                domain="development",
                filename="pkg.tgz",
                filename_root="fixed",
                content_md5=md5,
            )
        )

    first = location(hashlib.md5(body).digest())
    assert _put(first.signed_url, body, hashlib.md5(body).digest()) == 200
    assert location(hashlib.md5(body).digest()).native_url == first.native_url
    error = rpc_error(lambda: location(hashlib.md5(b"v2").digest()))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS


def test_download_location_serves_an_uploaded_blob(
    dataproxy: dataproxy_pb2_grpc.DataProxyServiceStub,
) -> None:
    body = b"payload"
    location = _upload_location(dataproxy, body)
    _put(location.signed_url, body, hashlib.md5(body).digest())
    download = dataproxy.CreateDownloadLocation(
        dataproxy_pb2.CreateDownloadLocationRequest(native_url=location.native_url)
    )
    with urllib.request.urlopen(download.signed_url, timeout=10) as response:
        assert response.read() == body


def test_flytekit_upload_file_goes_through_the_data_proxy(
    admin: LocalAdmin, tmp_path: Path
) -> None:
    from flytekit.configuration import Config
    from flytekit.remote import FlyteRemote

    remote = FlyteRemote(
        Config.for_endpoint(admin.endpoint, insecure=True),
        default_project="flytesnacks",
        default_domain="development",
    )
    source = tmp_path / "script.py"
    source.write_text("print('hi')\n")
    md5, native_url = remote.upload_file(source)
    assert Path(urllib.parse.urlparse(native_url).path).read_text() == "print('hi')\n"
    assert md5 == hashlib.md5(source.read_bytes()).digest()
