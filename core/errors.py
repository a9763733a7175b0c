"""Domain errors: a failure the domain can name, with a stable code and no HTTP in sight.

Every code the project uses lives in `ErrorCode`; `config/api/` maps each code to a status per
API family and renders the family's body. A `DomainError` whose code is not an `ErrorCode` is
refused when the class is defined or the error is built, so an unmapped code cannot slip
through to a client as a silent 400.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Stable error codes (seed 003's list plus the ones the other families need)."""

    VALIDATION_ERROR = "VALIDATION_ERROR"
    AUTH_REQUIRED = "AUTH_REQUIRED"
    SUBSCRIPTION_LIMIT = "SUBSCRIPTION_LIMIT"
    ACCESS_DENIED = "ACCESS_DENIED"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
    CONFLICT = "CONFLICT"
    SESSION_ENDED = "SESSION_ENDED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
    RATE_LIMITED = "RATE_LIMITED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    AI_SERVICE_ERROR = "AI_SERVICE_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    BUSY = "BUSY"
    WEBSOCKET_ERROR = "WEBSOCKET_ERROR"


def _require_code(value: object, where: str) -> ErrorCode:
    if not isinstance(value, ErrorCode):
        raise TypeError(f"{where}: code must be an ErrorCode, not {value!r}")
    return value


class DomainError(Exception):
    """A failure the domain can name. Subclasses set `code`; the API layer picks the status.

    A bare `DomainError` is a request the domain refuses (400 in every family); raise a
    subclass that names the reason instead where one fits.
    """

    code: ErrorCode = ErrorCode.VALIDATION_ERROR

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _require_code(cls.code, cls.__qualname__)

    def __init__(
        self, message: str, *, details: list[dict] | None = None, code: ErrorCode | None = None
    ):
        super().__init__(message)
        self.message = message
        self.details = details or []
        if code is not None:
            self.code = _require_code(code, type(self).__qualname__)


class NotFoundError(DomainError):
    code = ErrorCode.NOT_FOUND


class ValidationFailed(DomainError):
    code = ErrorCode.VALIDATION_ERROR


class ConflictError(DomainError):
    code = ErrorCode.CONFLICT


class AccessDenied(DomainError):
    """The caller is known but may not touch this resource (family A answers it as 401)."""

    code = ErrorCode.ACCESS_DENIED


class AuthRequired(DomainError):
    code = ErrorCode.AUTH_REQUIRED


class PayloadTooLarge(DomainError):
    code = ErrorCode.PAYLOAD_TOO_LARGE


class ServiceUnavailable(DomainError):
    """A dependency is down for now; the client should retry after `retry_after` seconds."""

    code = ErrorCode.SERVICE_UNAVAILABLE

    def __init__(self, message: str, *, retry_after: int = 5, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Busy(ServiceUnavailable):
    """Too many AI turns are running; the client should retry shortly."""

    code = ErrorCode.BUSY
