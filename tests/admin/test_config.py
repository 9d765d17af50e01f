"""Connection settings: every source, every precedence rule, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import (
    AdminSettings,
    ConnectionFlags,
    ConsoleSettings,
    Settings,
    resolve_connection,
)
from reconciler.errors import ConfigError


def _resolve(
    tmp_path: Path,
    *,
    flags: ConnectionFlags | None = None,
    settings: Settings | None = None,
    environ: dict[str, str] | None = None,
):  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return resolve_connection(
        flags or ConnectionFlags(), settings or Settings(), environ or {}, home=home, cwd=tmp_path
    )


def _settings(**admin: object) -> Settings:
    return Settings.model_validate({"admin": {**admin}})


def _flytectl(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "home" / ".flyte" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_flags_beat_environment_beat_settings_beat_config_file(tmp_path: Path) -> None:
    _flytectl(tmp_path, "admin:\n  endpoint: dns:///from-file:443\n  insecure: false\n")
    settings = _settings(endpoint="from-settings:443")
    environ = {"FLYTE_PLATFORM_URL": "from-env:443"}
    flags = ConnectionFlags(endpoint="from-flag:443")
    assert _resolve(tmp_path).endpoint == "from-file:443"
    assert _resolve(tmp_path, settings=settings).endpoint == "from-settings:443"
    both = _resolve(tmp_path, settings=settings, environ=environ)
    assert (both.endpoint, both.sources["endpoint"]) == ("from-env:443", "FLYTE_PLATFORM_URL")
    top = _resolve(tmp_path, settings=settings, environ=environ, flags=flags)
    assert (top.endpoint, top.sources["endpoint"]) == ("from-flag:443", "command line")


def test_each_setting_is_resolved_on_its_own(tmp_path: Path) -> None:
    config = _flytectl(tmp_path, "admin:\n  endpoint: a:1\n  clientId: file-client\n")
    connection = _resolve(
        tmp_path,
        settings=_settings(insecure=True),
        environ={"FLYTE_CREDENTIALS_CLIENT_ID": "env-client"},
    )
    assert connection.endpoint == "a:1"
    assert connection.sources["endpoint"] == str(config)
    assert (connection.insecure, connection.sources["insecure"]) == (True, "reconciler.yaml")
    assert (connection.client_id, connection.sources["client_id"]) == (
        "env-client",
        "FLYTE_CREDENTIALS_CLIENT_ID",
    )


def test_insecure_flag_overrides_a_secure_setting(tmp_path: Path) -> None:
    connection = _resolve(
        tmp_path,
        settings=_settings(endpoint="a:1", insecure=False),
        environ={"FLYTE_PLATFORM_INSECURE": "false"},
        flags=ConnectionFlags(insecure=True),
    )
    assert connection.insecure is True


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("True", True), ("1", True), ("yes", True), ("false", False), ("0", False), ("OFF", False)],
)
def test_boolean_environment_values(tmp_path: Path, raw: str, expected: bool) -> None:
    environ = {"FLYTE_PLATFORM_URL": "a:1", "FLYTE_PLATFORM_INSECURE": raw}
    assert _resolve(tmp_path, environ=environ).insecure is expected


def test_bad_boolean_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="FLYTE_PLATFORM_INSECURE: expected true or false"):
        _resolve(
            tmp_path, environ={"FLYTE_PLATFORM_URL": "a:1", "FLYTE_PLATFORM_INSECURE": "maybe"}
        )


@pytest.mark.parametrize(
    ("raw", "endpoint"),
    [
        ("dns:///flyte.example.com:443", "flyte.example.com:443"),
        ("localhost:30080", "localhost:30080"),
    ],
)
def test_dns_prefix_is_stripped(tmp_path: Path, raw: str, endpoint: str) -> None:
    assert _resolve(tmp_path, flags=ConnectionFlags(endpoint=raw)).endpoint == endpoint


def test_url_endpoint_is_refused_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="looks like a URL; give host:port"):
        _resolve(tmp_path, flags=ConnectionFlags(endpoint="https://flyte.example.com"))


def test_missing_endpoint_names_every_way_to_set_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--endpoint.*FLYTE_PLATFORM_URL.*reconciler\.yaml"):
        _resolve(tmp_path)


def test_config_file_lookup_order(tmp_path: Path) -> None:
    _flytectl(tmp_path, "admin: {endpoint: home-yaml:1}\n")
    assert _resolve(tmp_path).endpoint == "home-yaml:1"
    legacy = tmp_path / "home" / ".flyte" / "config"
    legacy.write_text("[platform]\nurl = home-ini:1\ninsecure = True\n")
    assert _resolve(tmp_path).endpoint == "home-ini:1"
    (tmp_path / "flytekit.config").write_text("[platform]\nurl = cwd-ini:1\n")
    assert _resolve(tmp_path).endpoint == "cwd-ini:1"
    named = tmp_path / "named.yaml"
    named.write_text("admin: {endpoint: env-named:1}\n")
    assert _resolve(tmp_path, environ={"FLYTECTL_CONFIG": str(named)}).endpoint == "env-named:1"
    explicit = tmp_path / "explicit.yaml"
    explicit.write_text("admin: {endpoint: explicit:1}\n")
    flags = ConnectionFlags(config_file=explicit)
    assert _resolve(tmp_path, flags=flags, environ={"FLYTECTL_CONFIG": str(named)}).endpoint == (
        "explicit:1"
    )


def test_legacy_ini_config_reads_credentials(tmp_path: Path) -> None:
    config = tmp_path / "flytekit.config"
    config.write_text(
        "[platform]\nurl = flyte:443\ninsecure = false\n"
        "[credentials]\nclient_id = ci\nauth_mode = basic\nscopes = a,b\n"
    )
    connection = _resolve(tmp_path, environ={"FLYTE_CREDENTIALS_CLIENT_SECRET": "x"})
    assert (connection.client_id, connection.auth_type, connection.scopes) == (
        "ci",
        "ClientSecret",
        ("a", "b"),
    )


def test_missing_named_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        _resolve(tmp_path, flags=ConnectionFlags(config_file=tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError, match="FLYTECTL_CONFIG names"):
        _resolve(tmp_path, environ={"FLYTECTL_CONFIG": str(tmp_path / "nope.yaml")})


def test_secret_sources_follow_precedence(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-file\n")
    settings = _settings(
        endpoint="a:1", authType="ClientSecret", clientId="c", clientSecretLocation=str(secret_file)
    )
    assert _resolve(tmp_path, settings=settings).client_secret.reveal() == "from-file"
    environ = {"FLYTE_CREDENTIALS_CLIENT_SECRET_ENV_VAR": "MY_SECRET", "MY_SECRET": "from-var"}
    assert (
        _resolve(tmp_path, settings=settings, environ=environ).client_secret.reveal() == "from-var"
    )
    # within one source, flytekit's order: the variable, then the file, then the secret itself
    environ["FLYTE_CREDENTIALS_CLIENT_SECRET"] = "direct"
    assert (
        _resolve(tmp_path, settings=settings, environ=environ).client_secret.reveal() == "from-var"
    )
    only_direct = {"FLYTE_CREDENTIALS_CLIENT_SECRET": "direct"}
    assert (
        _resolve(tmp_path, settings=settings, environ=only_direct).client_secret.reveal()
        == "direct"
    )


def test_missing_secret_file_and_variable_are_named(tmp_path: Path) -> None:
    settings = _settings(endpoint="a:1", clientSecretLocation=str(tmp_path / "gone"))
    with pytest.raises(ConfigError, match=r"cannot read the client secret file .*gone"):
        _resolve(tmp_path, settings=settings)
    settings = _settings(endpoint="a:1", clientSecretEnvVar="NOT_SET_ANYWHERE")
    with pytest.raises(ConfigError, match=r"NOT_SET_ANYWHERE .* is not set"):
        _resolve(tmp_path, settings=settings)


def test_a_secret_implies_client_secret_auth(tmp_path: Path) -> None:
    connection = _resolve(
        tmp_path, environ={"FLYTE_PLATFORM_URL": "a:1", "FLYTE_CREDENTIALS_CLIENT_SECRET": "x"}
    )
    assert connection.auth_type == "ClientSecret"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("basic", "ClientSecret"),
        ("standard", "Pkce"),
        ("external_process", "ExternalCommand"),
        ("DeviceFlow", "DeviceFlow"),
        ("clientsecret", "ClientSecret"),
    ],
)
def test_flytekit_auth_mode_aliases(tmp_path: Path, raw: str, canonical: str) -> None:
    environ = {"FLYTE_PLATFORM_URL": "a:1", "FLYTE_CREDENTIALS_AUTH_MODE": raw}
    assert _resolve(tmp_path, environ=environ).auth_type == canonical


def test_unknown_auth_mode_is_refused(tmp_path: Path) -> None:
    environ = {"FLYTE_PLATFORM_URL": "a:1", "FLYTE_CREDENTIALS_AUTH_MODE": "kerberos"}
    with pytest.raises(ConfigError, match="unknown auth type 'kerberos'"):
        _resolve(tmp_path, environ=environ)


def test_external_command_from_environment_is_split_like_a_shell(tmp_path: Path) -> None:
    environ = {"FLYTE_PLATFORM_URL": "a:1", "FLYTE_CREDENTIALS_COMMAND": "get-token --aud 'my app'"}
    connection = _resolve(tmp_path, environ=environ)
    assert connection.command == ("get-token", "--aud", "my app")
    assert connection.auth_type == "ExternalCommand"


def test_describe_names_sources_and_never_the_secret(tmp_path: Path) -> None:
    connection = _resolve(
        tmp_path,
        settings=Settings(
            admin=AdminSettings.model_validate({"endpoint": "a:1"}),
            console=ConsoleSettings.model_validate({"endpoint": "https://console"}),
        ),
        environ={"FLYTE_CREDENTIALS_CLIENT_SECRET": "hunter2", "FLYTE_CREDENTIALS_CLIENT_ID": "c"},
    )
    text = "\n".join(connection.describe())
    assert "hunter2" not in text + repr(connection) + str(connection)
    assert "endpoint = a:1  [reconciler.yaml]" in text
    assert "client_secret = (set)  [FLYTE_CREDENTIALS_CLIENT_SECRET]" in text
    assert "console_endpoint = https://console  [reconciler.yaml]" in text


def test_local_endpoint(tmp_path: Path) -> None:
    plain = _resolve(tmp_path, flags=ConnectionFlags(endpoint="local"))
    assert plain.is_local
    assert plain.local_db is None
    with_file = _resolve(tmp_path, flags=ConnectionFlags(endpoint="local:state/admin.db"))
    assert with_file.is_local
    assert with_file.local_db == Path("state/admin.db")
