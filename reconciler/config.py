"""``reconciler.yaml``: the settings file of a manifest tree (the nearest at or above the paths
given, see ``reconciler.manifests.load.find_settings``).

It holds what manifests should not repeat: where Admin is and how to authenticate (the same
``admin.*`` keys as a flytectl ``config.yaml``), the default project and domain, the owner id the
reconciler stamps on what it creates (so ``--prune`` never touches anything else), parallelism,
and named environments (``--env NAME``) that override any of these. Secrets are never written
here: point at them with ``clientSecretLocation`` or ``clientSecretEnvVar``. Relative paths
in it are relative to the file, wherever the command runs.
"""

from __future__ import annotations

import configparser
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import yaml
from pydantic import AfterValidator, Field

from reconciler.errors import ConfigError
from reconciler.manifests.fields import (
    DomainId,
    Model,
    NonEmptyStr,
    ProjectId,
    check_cron,
    check_label_value,
)

SETTINGS_FILENAMES = ("reconciler.yaml", "reconciler.yml")

AuthType = Literal["ClientSecret", "Pkce", "ExternalCommand", "DeviceFlow"]


class AdminSettings(Model):
    """Connection to FlyteAdmin, with flytectl's key names."""

    endpoint: NonEmptyStr | None = Field(
        default=None, description="host:port, dns:///host:port, or local[:DBFILE]."
    )
    insecure: bool | None = None
    insecure_skip_verify: bool | None = None
    ca_cert_file_path: NonEmptyStr | None = None
    auth_type: AuthType | None = None
    client_id: NonEmptyStr | None = None
    client_secret_location: NonEmptyStr | None = None
    client_secret_env_var: NonEmptyStr | None = None
    scopes: list[NonEmptyStr] | None = None
    audience: NonEmptyStr | None = None
    command: list[NonEmptyStr] | None = Field(
        default=None, description="ExternalCommand: prints an access token."
    )
    proxy_command: list[NonEmptyStr] | None = None


class ConsoleSettings(Model):
    endpoint: NonEmptyStr | None = Field(
        default=None, description="Flyte console base URL, used to print links to runs."
    )


class Defaults(Model):
    project: ProjectId | None = None
    domain: DomainId | None = None


# The owner id is written as a label value on executions, so it follows label value rules.
OwnerId = Annotated[str, Field(min_length=1), AfterValidator(check_label_value)]


_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def duration_seconds(text: str) -> int:
    """``1h30m``, ``30m``, ``90s`` in seconds; ValueError for anything else or zero."""
    match = _DURATION.fullmatch(text)
    seconds = 0
    if match:
        hours, minutes, secs = (int(group or 0) for group in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must look like 1h, 30m, 90s or 1h30m (and not 0)")
    return seconds


def _check_window_schedule(value: str) -> str:
    if "${" in value:
        raise ValueError("a sync window schedule cannot come from the environment")
    return check_cron(value)


def _check_window_duration(value: str) -> str:
    duration_seconds(value)
    return value


class SyncWindow(Model):
    """When the reconcile loop may apply (Argo CD's sync windows): a window is active for
    ``duration`` after each tick of ``schedule`` (cron, UTC). Inside an active ``deny`` window,
    or outside every ``allow`` window when there are any, the loop plans and reports but does
    not apply."""

    kind: Literal["allow", "deny"]
    schedule: Annotated[str, AfterValidator(_check_window_schedule)] = Field(
        description="Five-field cron or a descriptor such as @daily (UTC): when the window opens."
    )
    duration: Annotated[str, AfterValidator(_check_window_duration)] = Field(
        description="How long the window stays open after each tick: 1h, 30m, 90s, 1h30m."
    )


class Environment(Model):
    """Overrides applied with ``--env NAME``; unset fields keep the top-level values."""

    admin: AdminSettings | None = None
    console: ConsoleSettings | None = None
    defaults: Defaults | None = None
    owner_id: OwnerId | None = None
    parallelism: int | None = Field(default=None, ge=1, le=256)
    sync_windows: list[SyncWindow] | None = None


class Settings(Model):
    api_version: Literal["reconciler/v1"] | None = None
    admin: AdminSettings = Field(default_factory=AdminSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    defaults: Defaults = Field(default_factory=Defaults)
    owner_id: OwnerId | None = Field(
        default=None, description="Marks what this repository manages; required for --prune."
    )
    parallelism: int = Field(default=10, ge=1, le=256)
    sync_windows: list[SyncWindow] = Field(
        default_factory=list,
        description="When `reconcile` may apply; outside them it plans and reports only.",
    )
    environments: dict[NonEmptyStr, Environment] = Field(default_factory=dict)

    def anchored(self, directory: Path) -> Settings:
        """These settings with their relative paths made relative to ``directory`` (the one
        that holds reconciler.yaml) rather than to wherever the command runs."""
        environments = {
            name: env.model_copy(update={"admin": _anchored(env.admin, directory)})
            if env.admin is not None
            else env
            for name, env in self.environments.items()
        }
        return self.model_copy(
            update={"admin": _anchored(self.admin, directory), "environments": environments}
        )

    def for_environment(self, name: str | None) -> Settings:
        """These settings with environment ``name``'s overrides applied (field by field)."""
        if name is None:
            return self
        if name not in self.environments:
            known = ", ".join(sorted(self.environments)) or "none are defined"
            raise ConfigError(f"unknown environment {name!r} in reconciler.yaml (known: {known})")
        env = self.environments[name]
        return self.model_copy(
            update={
                "admin": _overlay(self.admin, env.admin),
                "console": _overlay(self.console, env.console),
                "defaults": _overlay(self.defaults, env.defaults),
                "owner_id": env.owner_id or self.owner_id,
                "parallelism": env.parallelism or self.parallelism,
                "sync_windows": self.sync_windows if env.sync_windows is None else env.sync_windows,
            }
        )


_M = TypeVar("_M", bound=Model)


def _anchored(admin: AdminSettings, directory: Path) -> AdminSettings:
    """The file paths of ``admin`` (CA certificate, client secret file, ``local:DBFILE``)
    joined to ``directory`` when relative; ``~`` is expanded first, as flytekit does."""
    update: dict[str, str] = {}
    for name in ("ca_cert_file_path", "client_secret_location"):
        value = getattr(admin, name)
        if value is not None:
            update[name] = _under(directory, value)
    local, _, db = (admin.endpoint or "").partition(":")
    if local == LOCAL_ENDPOINT and db:
        update["endpoint"] = f"{LOCAL_ENDPOINT}:{_under(directory, db)}"
    # model_copy keeps fields_set, so --env overlays still see only what the file set
    return admin.model_copy(update=update) if update else admin


def _under(directory: Path, value: str) -> str:
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else directory / path)


def _overlay(base: _M, override: _M | None) -> _M:
    if override is None:
        return base
    return base.model_copy(update=override.model_dump(exclude_unset=True, by_alias=False))


# --- connection settings: flags > FLYTE_* environment > reconciler.yaml > flytectl config ------

# flytekit's environment variables (FLYTE_{SECTION}_{OPTION}) for the settings we use.
ENVIRONMENT_VARIABLES = {
    "endpoint": "FLYTE_PLATFORM_URL",
    "insecure": "FLYTE_PLATFORM_INSECURE",
    "insecure_skip_verify": "FLYTE_PLATFORM_INSECURE_SKIP_VERIFY",
    "ca_cert_file_path": "FLYTE_PLATFORM_CA_CERT_FILE_PATH",
    "console_endpoint": "FLYTE_PLATFORM_CONSOLE_ENDPOINT",
    "auth_type": "FLYTE_CREDENTIALS_AUTH_MODE",
    "client_id": "FLYTE_CREDENTIALS_CLIENT_ID",
    "client_secret": "FLYTE_CREDENTIALS_CLIENT_SECRET",
    "client_secret_location": "FLYTE_CREDENTIALS_CLIENT_SECRET_LOCATION",
    "client_secret_env_var": "FLYTE_CREDENTIALS_CLIENT_SECRET_ENV_VAR",
    "scopes": "FLYTE_CREDENTIALS_SCOPES",
    "audience": "FLYTE_CREDENTIALS_AUDIENCE",
    "command": "FLYTE_CREDENTIALS_COMMAND",
    "proxy_command": "FLYTE_CREDENTIALS_PROXY_COMMAND",
}
# flytectl YAML keys and flytekit's legacy INI (section, option) for the same settings.
_YAML_KEYS = {
    "endpoint": "admin.endpoint",
    "insecure": "admin.insecure",
    "insecure_skip_verify": "admin.insecureSkipVerify",
    "ca_cert_file_path": "admin.caCertFilePath",
    "console_endpoint": "console.endpoint",
    "auth_type": "admin.authType",
    "client_id": "admin.clientId",
    "client_secret_location": "admin.clientSecretLocation",
    "client_secret_env_var": "admin.clientSecretEnvVar",
    "scopes": "admin.scopes",
    "audience": "admin.audience",
    "command": "admin.command",
    "proxy_command": "admin.proxyCommand",
}
_INI_KEYS = {
    "endpoint": ("platform", "url"),
    "insecure": ("platform", "insecure"),
    "insecure_skip_verify": ("platform", "insecure_skip_verify"),
    "ca_cert_file_path": ("platform", "ca_cert_file_path"),
    "console_endpoint": ("platform", "console_endpoint"),
    "auth_type": ("credentials", "auth_mode"),
    "client_id": ("credentials", "client_id"),
    "client_secret_location": ("credentials", "client_secret_location"),
    "client_secret_env_var": ("credentials", "client_secret_env_var"),
    "scopes": ("credentials", "scopes"),
    "audience": ("credentials", "audience"),
    "command": ("credentials", "command"),
}
_BOOLEANS = {"insecure", "insecure_skip_verify"}
_LISTS = {"scopes", "command", "proxy_command"}
# flytekit's older names for the auth modes, mapped to flytectl's.
_AUTH_ALIASES: dict[str, AuthType] = {
    "clientsecret": "ClientSecret",
    "basic": "ClientSecret",
    "client_credentials": "ClientSecret",
    "pkce": "Pkce",
    "standard": "Pkce",
    "externalcommand": "ExternalCommand",
    "external_process": "ExternalCommand",
    "deviceflow": "DeviceFlow",
}
DEFAULT_CALL_TIMEOUT = 30.0
LOCAL_ENDPOINT = "local"


class Secret:
    """A value that must never be printed: ``repr``/``str`` hide it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class ConnectionFlags:
    """What the command line said about the connection (None = not given)."""

    endpoint: str | None = None
    insecure: bool | None = None
    config_file: Path | None = None


@dataclass(frozen=True)
class Connection:
    """How to reach and authenticate to FlyteAdmin, resolved from every source.

    ``sources`` names where each setting came from (``--endpoint``, ``FLYTE_PLATFORM_URL``,
    ``reconciler.yaml``, a config file path), for ``-v``; secrets are never in it.
    """

    endpoint: str
    insecure: bool = False
    insecure_skip_verify: bool = False
    ca_cert_file_path: Path | None = None
    auth_type: AuthType | None = None
    client_id: str | None = None
    client_secret: Secret | None = None
    scopes: tuple[str, ...] = ()
    audience: str | None = None
    command: tuple[str, ...] = ()
    proxy_command: tuple[str, ...] = ()
    console_endpoint: str | None = None
    call_timeout: float = DEFAULT_CALL_TIMEOUT
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_local(self) -> bool:
        return self.endpoint == LOCAL_ENDPOINT or self.endpoint.startswith(LOCAL_ENDPOINT + ":")

    @property
    def local_db(self) -> Path | None:
        """The SQLite file of ``local:FILE``; None for plain ``local`` (the default file)."""
        if not self.is_local or self.endpoint == LOCAL_ENDPOINT:
            return None
        return Path(self.endpoint.split(":", 1)[1])

    def describe(self) -> list[str]:
        """One line per setting with its source, for ``-v``; secrets show only as set."""
        lines = []
        for name in (
            "endpoint",
            "insecure",
            "insecure_skip_verify",
            "ca_cert_file_path",
            "auth_type",
            "client_id",
            "client_secret",
            "scopes",
            "audience",
            "command",
            "proxy_command",
            "console_endpoint",
        ):
            value = getattr(self, name)
            if value in (None, (), False) and name not in self.sources:
                continue
            shown = "(set)" if name == "client_secret" else _show(value)
            lines.append(f"{name} = {shown}  [{self.sources.get(name, 'default')}]")
        return lines


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value)
    return str(value)


def resolve_connection(
    flags: ConnectionFlags,
    settings: Settings,
    environ: Mapping[str, str],
    *,
    home: Path | None = None,
    cwd: Path | None = None,
) -> Connection:
    """Merge every source, highest precedence last applied: config file, reconciler.yaml,
    FLYTE_* environment, command-line flags."""
    values: dict[str, object] = {}
    sources: dict[str, str] = {}

    def layer(found: Mapping[str, object], source: str) -> None:
        for name, value in found.items():
            if value is not None:
                values[name] = value
                sources.pop(name, None)  # re-insert: the order of sources is precedence
                sources[name] = source

    config_path = _config_file(flags.config_file, environ, home or Path.home(), cwd or Path.cwd())
    if config_path is not None:
        layer(_read_config_file(config_path), str(config_path))
    admin = settings.admin.model_dump(exclude_none=True, by_alias=False)
    if settings.console.endpoint is not None:
        admin["console_endpoint"] = settings.console.endpoint
    layer({k: tuple(v) if isinstance(v, list) else v for k, v in admin.items()}, "reconciler.yaml")
    for name, variable in ENVIRONMENT_VARIABLES.items():
        raw = environ.get(variable)
        if raw is not None and raw != "":
            layer({name: _parse(name, raw, variable)}, variable)
    layer({"endpoint": flags.endpoint, "insecure": flags.insecure}, "command line")
    return _build(values, sources, environ)


def _config_file(
    explicit: Path | None, environ: Mapping[str, str], home: Path, cwd: Path
) -> Path | None:
    """flytekit's lookup: --config, $FLYTECTL_CONFIG, ./flytekit.config, ~/.flyte/config(.yaml)."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} does not exist")
        return explicit
    named = environ.get("FLYTECTL_CONFIG")
    if named:
        if not Path(named).is_file():
            raise ConfigError(f"FLYTECTL_CONFIG names {named}, which does not exist")
        return Path(named)
    for candidate in (
        cwd / "flytekit.config",
        home / ".flyte" / "config",
        home / ".flyte" / "config.yaml",
    ):
        if candidate.is_file():
            return candidate
    return None


def _read_config_file(path: Path) -> dict[str, object]:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    found: dict[str, object] = {}
    if path.suffix in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path} must be a YAML mapping")
        for name, dotted in _YAML_KEYS.items():
            section, key = dotted.split(".")
            block = data.get(section)
            if isinstance(block, dict) and block.get(key) is not None:
                found[name] = _coerce(name, block[key], f"{path}: {dotted}")
        return found
    parser = configparser.ConfigParser()
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        raise ConfigError(f"config file {path} is not valid: {exc}") from exc
    for name, (section, option) in _INI_KEYS.items():
        if parser.has_option(section, option):
            found[name] = _parse(name, parser.get(section, option), f"{path}: [{section}] {option}")
    return found


def _parse(name: str, raw: str, where: str) -> object:
    """A setting given as text (environment, INI file)."""
    if name in _BOOLEANS:
        lowered = raw.strip().lower()
        if lowered in ("true", "1", "yes", "on", "t", "y"):
            return True
        if lowered in ("false", "0", "no", "off", "f", "n", ""):
            return False
        raise ConfigError(f"{where}: expected true or false, got {raw!r}")
    if name in ("command", "proxy_command"):
        return tuple(shlex.split(raw))
    if name in _LISTS:
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw.strip()


def _coerce(name: str, value: object, where: str) -> object:
    """A setting given as YAML (flytectl config)."""
    if isinstance(value, str):
        return _parse(name, value, where)
    if name in _BOOLEANS and isinstance(value, bool):
        return value
    if name in _LISTS and isinstance(value, list):
        return tuple(str(v) for v in value)
    raise ConfigError(f"{where}: unexpected value {value!r}")


def _build(
    values: dict[str, object], sources: dict[str, str], environ: Mapping[str, str]
) -> Connection:
    raw_endpoint = values.get("endpoint")
    if not isinstance(raw_endpoint, str) or not raw_endpoint:
        raise ConfigError(
            "no FlyteAdmin endpoint: pass --endpoint HOST:PORT (or local), set "
            "FLYTE_PLATFORM_URL, admin.endpoint in reconciler.yaml, or a flytectl config file"
        )
    endpoint = normalize_endpoint(raw_endpoint)
    written = values.get("auth_type")
    auth_type: AuthType | None = None
    if isinstance(written, str):
        auth_type = _AUTH_ALIASES.get(written.lower())
        if auth_type is None:
            raise ConfigError(
                f"{sources['auth_type']}: unknown auth type {written!r}; expected "
                "ClientSecret, Pkce, ExternalCommand or DeviceFlow"
            )
    secret = _client_secret(values, sources, environ)
    if auth_type is None and secret is not None:
        auth_type, sources["auth_type"] = "ClientSecret", sources["client_secret"]
    if auth_type is None and values.get("command"):
        auth_type, sources["auth_type"] = "ExternalCommand", sources["command"]
    ca = values.get("ca_cert_file_path")
    return Connection(
        endpoint=endpoint,
        insecure=bool(values.get("insecure", False)),
        insecure_skip_verify=bool(values.get("insecure_skip_verify", False)),
        ca_cert_file_path=Path(str(ca)).expanduser() if ca else None,
        auth_type=auth_type,
        client_id=_optional_str(values.get("client_id")),
        client_secret=secret,
        scopes=_strings(values.get("scopes")),
        audience=_optional_str(values.get("audience")),
        command=_strings(values.get("command")),
        proxy_command=_strings(values.get("proxy_command")),
        console_endpoint=_optional_str(values.get("console_endpoint")),
        sources={k: v for k, v in sources.items() if k in values or k in ("auth_type",)},
    )


def _strings(value: object) -> tuple[str, ...]:
    """A list setting, which every source gives as strings (``_parse``, ``_coerce`` and the
    settings file's ``list[NonEmptyStr]``); absent is empty."""
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()


def _optional_str(value: object) -> str | None:
    return str(value) if value is not None else None


def _client_secret(
    values: dict[str, object], sources: dict[str, str], environ: Mapping[str, str]
) -> Secret | None:
    """The secret itself, from the strongest source that names one. Within one source the
    order is flytekit's: a named variable beats a file, which beats the secret itself."""
    candidates = [
        name
        for name in ("client_secret", "client_secret_location", "client_secret_env_var")
        if name in values
    ]
    if not candidates:
        return None
    order = list(sources)  # insertion order follows precedence: later = stronger
    best = max(candidates, key=order.index)
    origin = sources[best]
    if best == "client_secret":
        secret = str(values[best])
    elif best == "client_secret_location":
        location = Path(str(values[best])).expanduser()
        try:
            secret = location.read_text("utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{origin}: cannot read the client secret file {location}: {exc.strerror or exc}"
            ) from exc
    else:
        variable = str(values[best])
        if not environ.get(variable):
            raise ConfigError(
                f"{origin}: environment variable {variable} (the client secret) is not set"
            )
        secret = environ[variable]
    sources["client_secret"] = origin
    return Secret(secret)


def normalize_endpoint(raw: str) -> str:
    """``dns:///host:port`` -> ``host:port``; URLs are refused with a hint."""
    endpoint = raw.strip()
    if endpoint.startswith("dns:///"):
        endpoint = endpoint[len("dns:///") :]
    if "://" in endpoint:
        raise ConfigError(
            f"endpoint {raw!r} looks like a URL; give host:port (or dns:///host:port) instead"
        )
    if not endpoint:
        raise ConfigError(f"endpoint {raw!r} is empty")
    return endpoint
