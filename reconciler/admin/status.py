"""The one place where gRPC status codes become the reconciler's errors.

Everything that calls Admin goes through ``translate``, so the rest of the code matches on
``NotFound`` or ``AlreadyExists`` and never imports grpc status codes.
"""

from __future__ import annotations

import grpc

from reconciler import errors

_BY_CODE: dict[grpc.StatusCode, type[errors.AdminError]] = {
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.ALREADY_EXISTS: errors.AlreadyExists,
    grpc.StatusCode.INVALID_ARGUMENT: errors.InvalidArgument,
    grpc.StatusCode.OUT_OF_RANGE: errors.InvalidArgument,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
    grpc.StatusCode.ABORTED: errors.FailedPrecondition,
    grpc.StatusCode.UNAUTHENTICATED: errors.Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDenied,
    grpc.StatusCode.UNAVAILABLE: errors.Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: errors.DeadlineExceeded,
    grpc.StatusCode.RESOURCE_EXHAUSTED: errors.ResourceExhausted,
    grpc.StatusCode.UNIMPLEMENTED: errors.Unimplemented,
}

# Transient: the same call may well succeed a moment later (DESIGN.md, Guarantees).
RETRYABLE = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)


def status_of(exc: grpc.RpcError) -> grpc.StatusCode:
    code = exc.code() if isinstance(exc, grpc.Call) else None
    return code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.UNKNOWN


def translate(exc: grpc.RpcError, *, method: str, endpoint: str) -> errors.AdminError:
    """The ``AdminError`` for a failed call, keeping Admin's own message."""
    code = status_of(exc)
    details = (exc.details() if isinstance(exc, grpc.Call) else None) or code.name
    cls = _BY_CODE.get(code, errors.InternalError)
    if code is grpc.StatusCode.UNAVAILABLE:
        # grpc's text for a refused connection is long and internal; say what the user can act on.
        message = f"cannot reach FlyteAdmin at {endpoint} ({_short(details)})"
    elif code is grpc.StatusCode.DEADLINE_EXCEEDED:
        message = f"FlyteAdmin at {endpoint} did not answer in time"
    else:
        message = details
    return cls(message, method=method, details=details)


def _short(details: str) -> str:
    """grpc's connection failures nest the real reason at the end of a long sentence."""
    first = details.splitlines()[0] if details else "unavailable"
    for marker in (
        "Connection refused",
        "No address associated",
        "Name or service not known",
        "Connection reset",
        "Socket closed",
        "Deadline Exceeded",
        "failed to connect to all addresses",
        "certificate verify failed",
        "Ssl handshake failed",
        "handshake",
    ):
        if marker.lower() in details.lower():
            return marker.lower() if marker[0].isupper() else marker
    return first[:200]
