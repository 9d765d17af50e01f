"""The one exception the local Admin's logic raises: an Admin error with a gRPC status code.

The logic modules (projects, executions, signals, ...) know nothing about gRPC servicer
contexts; they raise :class:`AdminError` and the servicers in ``service.py`` turn it into
``context.abort(code, message)`` in one place, the way FlyteAdmin's ``FlyteAdminError`` carries a
code to its transformer (``flyteadmin/pkg/errors/errors.go``).
"""

from __future__ import annotations

import grpc

# FlyteAdmin cuts error messages at this many bytes (pkg/errors/errors.go) before they reach gRPC.
MAX_MESSAGE_BYTES = 32_000


class AdminError(Exception):
    def __init__(
        self, code: grpc.StatusCode, message: str, details: tuple[object, ...] = ()
    ) -> None:
        if len(message.encode()) > MAX_MESSAGE_BYTES:
            message = message.encode()[:MAX_MESSAGE_BYTES].decode(errors="ignore")
            details = ()  # Admin drops the details of a truncated error
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


def invalid(message: str) -> AdminError:
    return AdminError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> AdminError:
    return AdminError(grpc.StatusCode.NOT_FOUND, message)


def already_exists(message: str) -> AdminError:
    return AdminError(grpc.StatusCode.ALREADY_EXISTS, message)


def failed_precondition(message: str) -> AdminError:
    return AdminError(grpc.StatusCode.FAILED_PRECONDITION, message)
