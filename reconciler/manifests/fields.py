"""Value types shared by the manifest kinds, with the checks Admin (or Kubernetes) would make.

Each check runs offline at ``validate`` time so that a bad manifest is refused before the first
write. A string that holds a ``${env:NAME}`` reference is only checked for form here; its value
is checked once it is resolved, at plan time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timezone
from typing import Annotated, Any, Literal

from croniter import croniter
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from reconciler.manifests.envref import has_reference

API_VERSION = "reconciler/v1"


def camel(name: str) -> str:
    """``k8s_service_account`` -> ``k8sServiceAccount``: each word after the first gets a capital
    initial and nothing else changes. pydantic's ``to_camel`` also capitalises a letter that
    follows a digit (``k8SServiceAccount``), a spelling neither flytekit nor flytectl uses."""
    first, *rest = name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


class Model(BaseModel):
    """Base of every manifest model: camelCase in YAML, unknown fields refused, no coercion."""

    model_config = ConfigDict(
        alias_generator=camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
        extra="forbid",
        frozen=True,
        strict=True,
    )


# Set while a manifest is validated again with its ${env:...} references resolved: its strings
# are then final values (a password may well hold "${"), never templates to skip checks for.
_RESOLVED: ContextVar[bool] = ContextVar("resolved", default=False)


@contextmanager
def resolved_values() -> Iterator[None]:
    token = _RESOLVED.set(True)
    try:
        yield
    finally:
        _RESOLVED.reset(token)


def _templated(value: str) -> bool:
    return not _RESOLVED.get() and "${" in value and has_reference(value)


# --- names -----------------------------------------------------------------------------------

# Admin: at most 63 characters, lowercase letter first (flyteadmin validation.ValidateExecutionID
# lowercases first; we require lowercase so that the name in git is the name in Admin).
EXECUTION_NAME_MAX = 63
_EXECUTION_NAME = re.compile(r"[a-z][a-z0-9-]*")
# Projects and domains become part of Kubernetes namespaces ("{project}-{domain}").
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def check_execution_name(value: str) -> str:
    if len(value) > EXECUTION_NAME_MAX:
        raise ValueError(
            f"execution name {value!r} is {len(value)} characters; Admin allows at most "
            f"{EXECUTION_NAME_MAX}"
        )
    if not _EXECUTION_NAME.fullmatch(value):
        raise ValueError(
            f"execution name {value!r} must start with a lowercase letter and contain only "
            "lowercase letters, digits and '-'"
        )
    return value


def _check_dns_label(what: str) -> Any:
    def check(value: str) -> str:
        if len(value) > 63 or not _DNS_LABEL.fullmatch(value):
            raise ValueError(
                f"{what} {value!r} must be 1-63 lowercase letters, digits or '-', "
                "starting and ending with a letter or digit"
            )
        return value

    return check


_WHITESPACE = re.compile(r"\s")  # what str.isspace() says of a character, for a whole string


def _check_entity_name(value: str) -> str:
    if not value.strip():
        raise ValueError("name must not be empty")
    if "/" in value or _WHITESPACE.search(value):
        raise ValueError(f"name {value!r} must not contain whitespace or '/'")
    return value


ExecutionName = Annotated[str, AfterValidator(check_execution_name)]
ProjectId = Annotated[str, AfterValidator(_check_dns_label("project"))]
DomainId = Annotated[str, AfterValidator(_check_dns_label("domain"))]
EntityName = Annotated[str, AfterValidator(_check_entity_name)]
NonEmptyStr = Annotated[str, Field(min_length=1)]

# --- Kubernetes labels and annotations -----------------------------------------------------------

_LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def check_label_key(key: str) -> str:
    if _templated(key):
        return key
    prefix, slash, name = key.rpartition("/")
    problems = []
    if slash and (len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        problems.append("its prefix must be a lowercase DNS subdomain of at most 253 characters")
    if len(name) > 63 or not _LABEL_NAME.fullmatch(name):
        problems.append(
            "its name must be 1-63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit"
        )
    if problems:
        raise ValueError(f"{key!r} is not a valid Kubernetes label key: {'; '.join(problems)}")
    return key


def check_label_value(value: str) -> str:
    if _templated(value):
        return value
    if value and (len(value) > 63 or not _LABEL_NAME.fullmatch(value)):
        raise ValueError(
            f"{value!r} is not a valid Kubernetes label value: at most 63 letters, digits, "
            "'-', '_' or '.', starting and ending with a letter or digit"
        )
    return value


LabelKey = Annotated[str, AfterValidator(check_label_key)]
Labels = dict[LabelKey, Annotated[str, AfterValidator(check_label_value)]]
Annotations = dict[LabelKey, str]


def _check_env_name(value: str) -> str:
    if not value or "=" in value or any(c.isspace() for c in value):
        raise ValueError(
            f"environment variable name {value!r} must be non-empty, without '=' or spaces"
        )
    return value


Envs = dict[Annotated[str, AfterValidator(_check_env_name)], str]
# Input values stay plain YAML values here; they are typed against the target's interface at plan.
Inputs = dict[NonEmptyStr, Any]

# --- schedules --------------------------------------------------------------------------------

# Admin parses cron with robfig/cron's standard parser: five fields or a descriptor.
CRON_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_CRON_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
_CRON_NAMES = {
    "month": {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"},
    "day-of-week": {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"},
}
_CRON_ATOM = re.compile(r"\*|\?|[0-9]+|[A-Za-z]+")


def check_cron(expression: str) -> str:
    if _templated(expression):
        return expression
    text = expression.strip()
    invalid = f"invalid cron expression {expression!r}"
    if text.startswith("@"):
        if text.lower() in CRON_DESCRIPTORS:
            return expression
        if text.lower().startswith("@every"):
            raise ValueError(f"{invalid}: for fixed intervals use schedule.rate")
        raise ValueError(f"{invalid}: descriptors are {', '.join(CRON_DESCRIPTORS)}")
    fields = text.split()
    if len(fields) != len(_CRON_FIELDS):
        raise ValueError(
            f"{invalid}: expected 5 fields ({' '.join(_CRON_FIELDS)}), got {len(fields)}"
        )
    for name, part in zip(_CRON_FIELDS, fields, strict=True):
        for atom in re.split(r"[,/-]", part):
            if not _CRON_ATOM.fullmatch(atom) or (
                atom.isalpha() and atom.upper() not in _CRON_NAMES.get(name, set())
            ):
                raise ValueError(f"{invalid}: {name} field {part!r} is not supported by Admin")
    if not croniter.is_valid(text):
        raise ValueError(f"{invalid}: a value is out of range")
    return expression


CronExpression = Annotated[str, AfterValidator(check_cron)]


# Admin's protobuf integer widths: a larger number cannot even be put into the request.
INT32_MAX = 2**31 - 1
UINT32_MAX = 2**32 - 1


class FixedRate(Model):
    value: int = Field(ge=1, le=UINT32_MAX, description="How many units between runs.")
    unit: Literal["MINUTE", "HOUR", "DAY"]


class Schedule(Model):
    """A cron or fixed-rate schedule; Admin fills the kickoff time input on each run."""

    cron: CronExpression | None = Field(
        default=None, description="Five-field cron or a descriptor such as @daily (UTC)."
    )
    rate: FixedRate | None = None
    kickoff_time_input_arg: NonEmptyStr | None = Field(
        default=None, description="Datetime input that receives the scheduled time of each run."
    )

    @model_validator(mode="after")
    def _cron_or_rate(self) -> Schedule:
        if self.cron is None and self.rate is None:
            if self.kickoff_time_input_arg is not None:
                raise ValueError("kickoffTimeInputArg needs a schedule: set cron or rate")
            raise ValueError("a schedule needs cron or rate")
        if self.cron is not None and self.rate is not None:
            raise ValueError("set cron or rate, not both")
        return self


# --- time -------------------------------------------------------------------------------------


def _to_utc_datetime(value: Any) -> Any:
    """YAML timestamps, dates and ISO strings; naive times are UTC, as Flyte schedules are."""
    if isinstance(value, str) and not _templated(value):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 date or time") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if isinstance(value, datetime):
        try:
            utc = timezone.utc
            value = value.astimezone(utc) if value.tzinfo else value.replace(tzinfo=utc)
        except OverflowError:  # 0001-01-01T00:00:00+05:00 is in the year 0 in UTC
            raise ValueError(
                f"{value.isoformat()} is outside the times Admin can hold (the years 1 to 9999 "
                "in UTC)"
            ) from None
    return value


UtcDatetime = Annotated[datetime, BeforeValidator(_to_utc_datetime)]

# --- references and shared blocks ---------------------------------------------------------------


class EntityRef(Model):
    """A task, workflow or launch plan in Admin; project and domain default to the manifest's."""

    name: EntityName
    version: NonEmptyStr | None = None
    project: ProjectId | None = None
    domain: DomainId | None = None


NotificationPhase = Literal["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]


class Notification(Model):
    """Where to send a message when a run reaches one of ``phases``: one channel per entry."""

    phases: list[NotificationPhase] = Field(min_length=1)
    email: list[NonEmptyStr] | None = Field(default=None, min_length=1)
    slack: list[NonEmptyStr] | None = Field(default=None, min_length=1)
    pager_duty: list[NonEmptyStr] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_channel(self) -> Notification:
        channels = [c for c in (self.email, self.slack, self.pager_duty) if c is not None]
        if len(channels) != 1:
            raise ValueError("a notification needs exactly one of email, slack or pagerDuty")
        return self


class RunAs(Model):
    k8s_service_account: NonEmptyStr | None = None
    iam_role: NonEmptyStr | None = None
    execution_identity: NonEmptyStr | None = None


class SecurityContext(Model):
    run_as: RunAs | None = None


def _defaults_may_fill(schema: dict[str, Any]) -> None:
    # project and domain may come from reconciler.yaml, so editors must not demand them.
    schema["required"] = [f for f in schema.get("required", []) if f not in ("project", "domain")]


class Metadata(Model):
    model_config = ConfigDict(json_schema_extra=_defaults_may_fill)

    name: EntityName
    project: ProjectId = Field(description="Defaults to defaults.project in reconciler.yaml.")
    domain: DomainId = Field(description="Defaults to defaults.domain in reconciler.yaml.")


class ExecutionMetadata(Metadata):
    name: ExecutionName
