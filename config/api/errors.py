"""Translation of any exception into one family's error envelope.

Domain code raises `core.errors.DomainError` subclasses that carry an `ErrorCode`; only this
module knows which HTTP status a code maps to, per family where the families differ. Each
family renders the same normalised `ApiError` in its own body, so that every error a family
answers, from a malformed body to an unhandled exception, has that family's shape.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from django.utils import timezone
from rest_framework import exceptions as drf
from rest_framework.response import Response

from config.api.request_id import new_request_id, request_id_for
from config.families import ASSISTANT, GAME, MOVIE, family_for_path
from core.errors import DomainError, ErrorCode

logger = logging.getLogger("config.api")

STATUS_BY_CODE: dict[ErrorCode, int] = {
    ErrorCode.VALIDATION_ERROR: 400,
    ErrorCode.AUTH_REQUIRED: 401,
    ErrorCode.SUBSCRIPTION_LIMIT: 402,
    ErrorCode.ACCESS_DENIED: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.NOT_ACCEPTABLE: 406,
    ErrorCode.CONFLICT: 409,
    ErrorCode.SESSION_ENDED: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.FILE_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.UNSUPPORTED_FORMAT: 415,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.AI_SERVICE_ERROR: 502,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.BUSY: 503,
    # Seed 003 names it for WebSocket connection issues; over HTTP it is a bad request.
    ErrorCode.WEBSOCKET_ERROR: 400,
}

# Where a family's seed answers a code with another status than the base map.
FAMILY_STATUS_OVERRIDES: dict[str, dict[ErrorCode, int]] = {
    GAME: {},
    # Seed 004: "401 Unauthorized (doesn't own chat)"; CONTRACTS.md: another identity gets 401.
    ASSISTANT: {ErrorCode.ACCESS_DENIED: 401},
    MOVIE: {},
}


class UnmappedErrorCode(LookupError):
    """A code with no HTTP status in a family: a programming error, never a client's 400."""


def status_for(code: ErrorCode, family: str) -> int:
    """The HTTP status `family` answers `code` with; raise if the tables have no entry."""
    try:
        overrides = FAMILY_STATUS_OVERRIDES[family]
    except KeyError:
        raise UnmappedErrorCode(f"Unknown API family {family!r}") from None
    status = overrides.get(code, STATUS_BY_CODE.get(code))
    if status is None:
        raise UnmappedErrorCode(f"Error code {code!r} has no HTTP status in family {family}")
    return status


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


def api_error(
    code: ErrorCode,
    family: str,
    message: str,
    details: list[dict] | None = None,
    headers: dict[str, str] | None = None,
) -> ApiError:
    """An ApiError for `code`, with the status `family` answers it with."""
    return ApiError(status_for(code, family), code, message, details or [], headers or {})


def normalise(exc: BaseException, family: str = GAME) -> ApiError:
    """Map any exception to an ApiError of `family`; unknown exceptions are logged as a 500.

    `family` only changes the status where FAMILY_STATUS_OVERRIDES says so; G's statuses are
    the base map.
    """
    if isinstance(exc, DomainError):
        headers = {}
        # ServiceUnavailable and core.ratelimit.RateLimited say when to come back.
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return api_error(exc.code, family, exc.message, exc.details, headers)
    if isinstance(exc, drf.ValidationError):
        details = _flatten(exc.detail)
        return api_error(ErrorCode.VALIDATION_ERROR, family, validation_message(details), details)
    if isinstance(exc, drf.ParseError):
        return api_error(
            ErrorCode.VALIDATION_ERROR, family, f"Malformed request body: {exc.detail}"
        )
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return api_error(
            ErrorCode.AUTH_REQUIRED,
            family,
            _detail_text(exc.detail),
            headers={"WWW-Authenticate": "Bearer"},
        )
    if isinstance(exc, drf.PermissionDenied | DjangoPermissionDenied):
        message = _detail_text(getattr(exc, "detail", "")) or "Access denied"
        return api_error(ErrorCode.ACCESS_DENIED, family, message)
    if isinstance(exc, drf.NotFound | Http404):
        return api_error(ErrorCode.NOT_FOUND, family, "Not found")
    if isinstance(exc, drf.MethodNotAllowed):
        return api_error(ErrorCode.METHOD_NOT_ALLOWED, family, _detail_text(exc.detail))
    if isinstance(exc, drf.NotAcceptable):
        return api_error(ErrorCode.NOT_ACCEPTABLE, family, _detail_text(exc.detail))
    if isinstance(exc, drf.UnsupportedMediaType):
        return api_error(ErrorCode.UNSUPPORTED_MEDIA_TYPE, family, _detail_text(exc.detail))
    if isinstance(exc, drf.Throttled):
        wait = max(1, math.ceil(exc.wait or 1))
        return api_error(
            ErrorCode.RATE_LIMITED,
            family,
            f"Too many requests; retry in {wait} seconds",
            headers={"Retry-After": str(wait)},
        )
    if isinstance(exc, RequestDataTooBig):
        return api_error(ErrorCode.PAYLOAD_TOO_LARGE, family, "Request body too large")
    if isinstance(exc, SuspiciousOperation):
        return api_error(ErrorCode.VALIDATION_ERROR, family, "Bad request")
    if isinstance(exc, drf.APIException):
        # Another DRF exception: it carries its own status; "ERROR" is DRF's generic code.
        return ApiError(exc.status_code, "ERROR", _detail_text(exc.detail))
    if _is_database_outage(exc):
        # Nothing was acknowledged: the transaction did not commit. The client retries.
        logger.warning("Database unavailable: %s", exc)
        return api_error(
            ErrorCode.SERVICE_UNAVAILABLE,
            family,
            "The database is unavailable; please retry shortly",
            headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
        )
    logger.error("Unhandled exception", exc_info=exc)
    return api_error(ErrorCode.INTERNAL_ERROR, family, "Internal Server Error")


DATABASE_RETRY_AFTER = 5


def _is_database_outage(exc: BaseException) -> bool:
    """A lost or refused database connection (or a pool with none to give), as opposed to a
    query the database refused (an integrity error is a bug, not an outage)."""
    from django.db import InterfaceError, OperationalError

    if isinstance(exc, InterfaceError | OperationalError):
        return True
    try:
        from psycopg_pool import PoolTimeout
    except ImportError:  # pragma: no cover - psycopg_pool is pinned
        return False
    return isinstance(exc, PoolTimeout)


def _detail_text(detail: Any) -> str:
    if isinstance(detail, dict) and "detail" in detail:
        return str(detail["detail"])
    if isinstance(detail, list | dict):
        return validation_message(_flatten(detail))
    return str(detail)


# --- Family bodies ------------------------------------------------------------------------------


def game_body(error: ApiError, request=None) -> dict:
    """Family G (and C on /api/characters): `{"error": "<message>"}`."""
    return {"error": error.message}


def assistant_body(error: ApiError, request=None) -> dict:
    """Family A (and C on /api/chats): `{"statusCode", "statusMessage"}`."""
    return {"statusCode": error.status, "statusMessage": error.message}


def movie_body(error: ApiError, request=None) -> dict:
    """Family M: the seed's `{success: false, error: {code, message, details}, ...}`.

    `requestId` is the request's own id (the one sent back as X-Request-ID); without a request
    a fresh one is made.
    """
    return {
        "success": False,
        "error": {"code": error.code, "message": error.message, "details": error.details},
        "requestId": request_id_for(request) if request is not None else new_request_id(),
        "timestamp": timezone.now().isoformat().replace("+00:00", "Z"),
    }


FAMILY_BODIES: dict[str, Callable[..., dict]] = {
    GAME: game_body,
    ASSISTANT: assistant_body,
    MOVIE: movie_body,
}


def error_payload(family: str, error: ApiError, request=None) -> dict:
    return FAMILY_BODIES[family](error, request)


def json_error(family: str, error: ApiError, request=None) -> JsonResponse:
    """A plain Django JSON response for errors raised outside DRF views."""
    response = JsonResponse(error_payload(family, error, request), status=error.status, safe=False)
    for name, value in error.headers.items():
        response[name] = value
    return response


def make_exception_handler(family: str) -> Callable[[Exception, dict], Response]:
    """Build a DRF exception handler that renders every exception in `family`'s envelope."""

    def handler(exc: Exception, context: dict) -> Response:
        error = normalise(exc, family)
        request = context.get("request")
        return Response(
            error_payload(family, error, request), status=error.status, headers=error.headers
        )

    handler.__name__ = f"{family.lower()}_exception_handler"
    return handler


game_exception_handler = make_exception_handler(GAME)
assistant_exception_handler = make_exception_handler(ASSISTANT)
movie_exception_handler = make_exception_handler(MOVIE)


def fallback_exception_handler(exc: Exception, context: dict) -> Response:
    """For a view that forgot its family: pick the family from the URL path."""
    request = context.get("request")
    family = family_for_path(request.path if request else "") or GAME
    return make_exception_handler(family)(exc, context)
