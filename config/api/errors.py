"""Domain errors and the translation of any exception into one family's error envelope.

Domain code raises `DomainError` subclasses that carry a stable `code`; only this module knows
which HTTP status a code maps to. Each family renders the same normalised `ApiError` in its own
body, so that every error a family answers, from a malformed body to an unhandled exception,
has that family's shape.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from django.utils import timezone
from rest_framework import exceptions as drf
from rest_framework.response import Response

logger = logging.getLogger("config.api")


class DomainError(Exception):
    """A failure the domain can name. Subclasses set `code`; the API layer picks the status."""

    code = "ERROR"

    def __init__(self, message: str, *, details: list[dict] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []
        if code:
            self.code = code


class NotFoundError(DomainError):
    code = "NOT_FOUND"


class ValidationFailed(DomainError):
    code = "VALIDATION_ERROR"


class ConflictError(DomainError):
    code = "CONFLICT"


class AccessDenied(DomainError):
    code = "ACCESS_DENIED"


class AuthRequired(DomainError):
    code = "AUTH_REQUIRED"


class PayloadTooLarge(DomainError):
    code = "PAYLOAD_TOO_LARGE"


class ServiceUnavailable(DomainError):
    """A dependency is down for now; the client should retry later."""

    code = "SERVICE_UNAVAILABLE"

    def __init__(self, message: str, *, retry_after: int = 5, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


STATUS_BY_CODE = {
    "VALIDATION_ERROR": 400,
    "AUTH_REQUIRED": 401,
    "SUBSCRIPTION_LIMIT": 402,
    "ACCESS_DENIED": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "NOT_ACCEPTABLE": 406,
    "CONFLICT": 409,
    "SESSION_ENDED": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "FILE_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "UNSUPPORTED_FORMAT": 415,
    "RATE_LIMITED": 429,
    "INTERNAL_ERROR": 500,
    "AI_SERVICE_ERROR": 502,
    "SERVICE_UNAVAILABLE": 503,
}


@dataclass
class ApiError:
    """An error normalised for rendering: status, stable code, human message, field details."""

    status: int
    code: str
    message: str
    details: list[dict] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


def _flatten(detail: Any, prefix: str = "") -> list[dict]:
    """Turn DRF's nested error detail into a flat list of {field, message}."""
    if isinstance(detail, dict):
        items: list[dict] = []
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors":
                name = prefix
            items.extend(_flatten(value, name))
        return items
    if isinstance(detail, list):
        items = []
        for index, value in enumerate(detail):
            if isinstance(value, dict | list) and not _is_leaf_list(value):
                items.extend(_flatten(value, f"{prefix}[{index}]" if prefix else str(index)))
            else:
                items.extend(_flatten(value, prefix))
        return items
    return [{"field": prefix, "message": str(detail)}]


def _is_leaf_list(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(v, dict | list) for v in value)


def validation_message(details: list[dict]) -> str:
    """One line naming every problem, e.g. "level: Ensure this value is at least 1."."""
    parts = [
        f"{d['field']}: {d['message'].rstrip('.')}" if d["field"] else d["message"].rstrip(".")
        for d in details
    ]
    return "; ".join(parts) or "Invalid request data"


def normalise(exc: BaseException) -> ApiError:
    """Map any exception to an ApiError; unknown exceptions are logged and become a 500."""
    if isinstance(exc, DomainError):
        status = STATUS_BY_CODE.get(exc.code, 400)
        headers = {}
        if isinstance(exc, ServiceUnavailable):
            headers["Retry-After"] = str(exc.retry_after)
        return ApiError(status, exc.code, exc.message, exc.details, headers)
    if isinstance(exc, drf.ValidationError):
        details = _flatten(exc.detail)
        return ApiError(400, "VALIDATION_ERROR", validation_message(details), details)
    if isinstance(exc, drf.ParseError):
        return ApiError(400, "VALIDATION_ERROR", f"Malformed request body: {exc.detail}")
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        message = _detail_text(exc.detail)
        return ApiError(401, "AUTH_REQUIRED", message, headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, drf.PermissionDenied | DjangoPermissionDenied):
        message = _detail_text(getattr(exc, "detail", "")) or "Access denied"
        return ApiError(403, "ACCESS_DENIED", message)
    if isinstance(exc, drf.NotFound | Http404):
        return ApiError(404, "NOT_FOUND", "Not found")
    if isinstance(exc, drf.MethodNotAllowed):
        return ApiError(405, "METHOD_NOT_ALLOWED", _detail_text(exc.detail))
    if isinstance(exc, drf.NotAcceptable):
        return ApiError(406, "NOT_ACCEPTABLE", _detail_text(exc.detail))
    if isinstance(exc, drf.UnsupportedMediaType):
        return ApiError(415, "UNSUPPORTED_MEDIA_TYPE", _detail_text(exc.detail))
    if isinstance(exc, drf.Throttled):
        wait = max(1, math.ceil(exc.wait or 1))
        return ApiError(
            429,
            "RATE_LIMITED",
            f"Too many requests; retry in {wait} seconds",
            headers={"Retry-After": str(wait)},
        )
    if isinstance(exc, RequestDataTooBig):
        return ApiError(413, "PAYLOAD_TOO_LARGE", "Request body too large")
    if isinstance(exc, SuspiciousOperation):
        return ApiError(400, "VALIDATION_ERROR", "Bad request")
    if isinstance(exc, drf.APIException):
        return ApiError(exc.status_code, "ERROR", _detail_text(exc.detail))
    logger.error("Unhandled exception", exc_info=exc)
    return ApiError(500, "INTERNAL_ERROR", "Internal Server Error")


def _detail_text(detail: Any) -> str:
    if isinstance(detail, dict) and "detail" in detail:
        return str(detail["detail"])
    if isinstance(detail, list | dict):
        return validation_message(_flatten(detail))
    return str(detail)


# --- Family bodies ------------------------------------------------------------------------------


def game_body(error: ApiError) -> dict:
    """Family G (and C on /api/characters): `{"error": "<message>"}`."""
    return {"error": error.message}


def assistant_body(error: ApiError) -> dict:
    """Family A (and C on /api/chats): `{"statusCode", "statusMessage"}`."""
    return {"statusCode": error.status, "statusMessage": error.message}


def movie_body(error: ApiError) -> dict:
    """Family M: the seed's `{success: false, error: {code, message, details}, ...}`."""
    return {
        "success": False,
        "error": {"code": error.code, "message": error.message, "details": error.details},
        "requestId": f"req-{uuid.uuid4().hex[:12]}",
        "timestamp": timezone.now().isoformat().replace("+00:00", "Z"),
    }


FAMILY_BODIES: dict[str, Callable[[ApiError], dict]] = {
    "G": game_body,
    "A": assistant_body,
    "M": movie_body,
}


def family_for_path(path: str) -> str | None:
    """Which family owns a URL path (CONTRACTS.md); None outside /api/."""
    if not path.startswith("/api/") and path != "/api":
        return None
    if path.startswith(("/api/v1/", "/api/auth/")) or path in ("/api/v1", "/api/auth"):
        return "M"
    if path.startswith(("/api/chats", "/api/ping", "/api/health")):
        return "A"
    return "G"


def error_payload(family: str, error: ApiError) -> dict:
    return FAMILY_BODIES[family](error)


def json_error(family: str, error: ApiError) -> JsonResponse:
    """A plain Django JSON response for errors raised outside DRF views."""
    response = JsonResponse(error_payload(family, error), status=error.status, safe=False)
    for name, value in error.headers.items():
        response[name] = value
    return response


def make_exception_handler(family: str) -> Callable[[Exception, dict], Response]:
    """Build a DRF exception handler that renders every exception in `family`'s envelope."""

    def handler(exc: Exception, context: dict) -> Response:
        error = normalise(exc)
        return Response(error_payload(family, error), status=error.status, headers=error.headers)

    handler.__name__ = f"{family.lower()}_exception_handler"
    return handler


game_exception_handler = make_exception_handler("G")
assistant_exception_handler = make_exception_handler("A")
movie_exception_handler = make_exception_handler("M")


def fallback_exception_handler(exc: Exception, context: dict) -> Response:
    """For a view that forgot its family: pick the family from the URL path."""
    request = context.get("request")
    family = family_for_path(request.path if request else "") or "G"
    return make_exception_handler(family)(exc, context)
