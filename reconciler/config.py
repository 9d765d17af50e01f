"""``reconciler.yaml``: the settings file at the root of a manifest tree.

It holds what manifests should not repeat: where Admin is and how to authenticate (the same
``admin.*`` keys as a flytectl ``config.yaml``), the default project and domain, the owner id the
reconciler stamps on what it creates (so ``--prune`` never touches anything else), parallelism,
and named environments (``--env NAME``) that override any of these. Secrets are never written
here: point at them with ``clientSecretLocation`` or ``clientSecretEnvVar``.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, Field

from reconciler.errors import ConfigError
from reconciler.manifests.fields import (
    DomainId,
    Model,
    NonEmptyStr,
    ProjectId,
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


class Environment(Model):
    """Overrides applied with ``--env NAME``; unset fields keep the top-level values."""

    admin: AdminSettings | None = None
    console: ConsoleSettings | None = None
    defaults: Defaults | None = None
    owner_id: OwnerId | None = None
    parallelism: int | None = Field(default=None, ge=1, le=256)


class Settings(Model):
    api_version: Literal["reconciler/v1"] | None = None
    admin: AdminSettings = Field(default_factory=AdminSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    defaults: Defaults = Field(default_factory=Defaults)
    owner_id: OwnerId | None = Field(
        default=None, description="Marks what this repository manages; required for --prune."
    )
    parallelism: int = Field(default=10, ge=1, le=256)
    environments: dict[NonEmptyStr, Environment] = Field(default_factory=dict)

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
            }
        )


_M = TypeVar("_M", bound=Model)


def _overlay(base: _M, override: _M | None) -> _M:
    if override is None:
        return base
    return base.model_copy(update=override.model_dump(exclude_unset=True, by_alias=False))
