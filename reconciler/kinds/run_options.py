"""What launch plans and executions both say about the runs they start, in one place.

A ``LaunchPlanSpec`` and an ``ExecutionSpec`` share these fields, under the same protobuf names
(an execution's values override its launch plan's): labels, annotations, environment
variables, the raw output prefix, the security context (service account, IAM role, execution
identity), interruptible, overwrite cache and max parallelism; notifications too, each kind
holding them in its own place. Both kinds build them here from their manifests and show them
here in manifest terms, so the two can never write or show one of them differently.

Labels and annotations come in whole, provenance included: which reconciler keys a kind adds,
and which it shows, is each kind's own policy (see its module docstring).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypeVar

from flyteidl.admin import common_pb2, execution_pb2, launch_plan_pb2
from flyteidl.core import literals_pb2, security_pb2

from reconciler.manifests.fields import RunAs

RunSpec = TypeVar("RunSpec", launch_plan_pb2.LaunchPlanSpec, execution_pb2.ExecutionSpec)


class RunOptions(Protocol):
    """The manifest fields behind the shared run options (``LaunchPlanSpec`` and
    ``ExecutionSpec`` of ``reconciler.manifests`` both have them)."""

    @property
    def envs(self) -> Mapping[str, str]: ...

    @property
    def max_parallelism(self) -> int | None: ...

    @property
    def raw_output_data_prefix(self) -> str | None: ...

    @property
    def service_account(self) -> str | None: ...

    @property
    def interruptible(self) -> bool | None: ...

    @property
    def overwrite_cache(self) -> bool | None: ...


def set_run_options(
    message: RunSpec,
    spec: RunOptions,
    *,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    run_as: RunAs | None = None,
) -> RunSpec:
    """``message`` with the shared options of ``spec`` set (in place, and returned);
    ``run_as``: the manifest's ``securityContext.runAs``, for a kind that has one."""
    message.labels.CopyFrom(common_pb2.Labels(values=dict(labels)))
    message.annotations.CopyFrom(common_pb2.Annotations(values=dict(annotations)))
    message.envs.CopyFrom(
        common_pb2.Envs(
            values=[literals_pb2.KeyValuePair(key=k, value=v) for k, v in sorted(spec.envs.items())]
        )
    )
    message.max_parallelism = spec.max_parallelism or 0
    message.raw_output_data_config.CopyFrom(
        common_pb2.RawOutputDataConfig(output_location_prefix=spec.raw_output_data_prefix or "")
    )
    message.security_context.CopyFrom(
        security_pb2.SecurityContext(
            run_as=security_pb2.Identity(
                k8s_service_account=spec.service_account
                or (run_as.k8s_service_account if run_as else None)
                or "",
                iam_role=(run_as.iam_role if run_as else None) or "",
                execution_identity=(run_as.execution_identity if run_as else None) or "",
            )
        )
    )
    message.overwrite_cache = bool(spec.overwrite_cache)
    if spec.interruptible is not None:
        message.interruptible.value = spec.interruptible
    return message


def run_options_view(message: RunSpec) -> dict[str, Any]:
    """The shared options of a stored or built spec in manifest terms, each only when set (as a
    manifest leaves it out): the same for both kinds and for both sides of a diff."""
    run_as = message.security_context.run_as
    view: dict[str, Any] = {}
    for key, value in (
        ("maxParallelism", message.max_parallelism),
        ("rawOutputDataPrefix", message.raw_output_data_config.output_location_prefix),
        ("serviceAccount", run_as.k8s_service_account),
        ("iamRole", run_as.iam_role),
        ("executionIdentity", run_as.execution_identity),
        ("overwriteCache", message.overwrite_cache),
    ):
        if value:
            view[key] = value
    if message.HasField("interruptible"):
        view["interruptible"] = message.interruptible.value
    return view


def envs_view(message: RunSpec) -> dict[str, str]:
    return {kv.key: kv.value for kv in message.envs.values}
