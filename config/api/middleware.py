"""Keep every /api/ error in its family's envelope, including those Django raises itself."""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from config.api.errors import ApiError, api_error, json_error, normalise
from config.api.movie import movie_response_headers
from config.api.throttles import movie_rate_count, movie_rate_state
from config.families import MOVIE, family_for_path
from core.errors import ErrorCode

_MESSAGES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Request body too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal Server Error",
}
_CODES = {
    400: ErrorCode.VALIDATION_ERROR,
    401: ErrorCode.AUTH_REQUIRED,
    403: ErrorCode.ACCESS_DENIED,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    429: ErrorCode.RATE_LIMITED,
    500: ErrorCode.INTERNAL_ERROR,
}


class ApiErrorEnvelopeMiddleware:
    """Outermost middleware for /api/ paths.

    - Refuses a non-multipart body larger than DATA_UPLOAD_MAX_MEMORY_SIZE with 413 before
      any view reads it.
    - Turns exceptions that escape a view, and error responses that are not JSON (Django's
      404 for unknown routes, CSRF failures, 500 pages), into the family's envelope.
    Responses that are already JSON (DRF views answer in their own family) pass untouched.
    - Gives every family M answer its X-Request-ID and X-RateLimit-* headers; an M request no
      M view counted (an unknown route, a body refused early) is counted here.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self._acall(request)
        family = family_for_path(request.path)
        if family is None:
            return self.get_response(request)
        response = self._refuse_early(request, family)
        if response is None:
            response = self._rewrap(family, self.get_response(request), request)
        if family == MOVIE:
            response = _movie_headers_counting(request, response)
        return response

    async def _acall(self, request: HttpRequest):
        family = family_for_path(request.path)
        if family is None:
            return await self.get_response(request)
        response = self._refuse_early(request, family)
        if response is None:
            response = self._rewrap(family, await self.get_response(request), request)
        if family == MOVIE:
            if movie_rate_state(request) is not None:
                movie_response_headers(request, response)
            else:
                response = await sync_to_async(_movie_headers_counting)(request, response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception):
        family = family_for_path(request.path)
        if family is None:
            return None
        return json_error(family, normalise(exception, family), request)

    @staticmethod
    def _refuse_early(request: HttpRequest, family: str) -> HttpResponse | None:
        if "\x00" in request.path:
            # `%00` in an id: PostgreSQL cannot even compare it, so no view may see it; the
            # words are those of the JSON reader (config/api/parsers.py).
            error = api_error(
                ErrorCode.VALIDATION_ERROR, family, "path: Null characters are not allowed"
            )
            return json_error(family, error, request)
        content_type = request.META.get("CONTENT_TYPE", "")
        if content_type.startswith("multipart/"):
            return None
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            message = f"Request body too large (limit {limit} bytes)"
            error = api_error(ErrorCode.PAYLOAD_TOO_LARGE, family, message)
            return json_error(family, error, request)
        return None

    @staticmethod
    def _rewrap(family: str, response: HttpResponse, request=None) -> HttpResponse:
        if response.status_code < 400 or getattr(response, "streaming", False):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        status = response.status_code
        error = ApiError(
            status, _CODES.get(status, "ERROR"), _MESSAGES.get(status, "Request failed")
        )
        wrapped = json_error(family, error, request)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                wrapped[header] = response[header]
        return wrapped


def _movie_headers_counting(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """M headers on any answer; one that no M view counted (an unknown route, a body refused
    early) is counted here, against the Bearer token's user when it is valid, and past the
    limit it becomes the same 429 a view would answer."""
    if movie_rate_state(request) is None:
        if getattr(request, "_movie_user", None) is None:
            request._movie_user = _bearer_user(request)
        state = movie_rate_count(request)
        if not state.allowed and response.status_code != 429:
            message = f"Too many requests; retry in {state.retry_after()} seconds"
            response = json_error(MOVIE, api_error(ErrorCode.RATE_LIMITED, MOVIE, message), request)
    movie_response_headers(request, response)
    return response


def _bearer_user(request: HttpRequest):
    from django.db import DatabaseError
    from rest_framework.exceptions import APIException

    from config.api.authentication import BearerJWTAuthentication

    try:
        found = BearerJWTAuthentication().authenticate(request)
    except (APIException, DatabaseError):
        # A bad token, or the database is down (the answer says so): count by address.
        return None
    return found[0] if found else None
