"""Request bodies counted at the ASGI boundary, while they are read.

Django's ASGI handler reads a whole request body into a temporary file before any middleware
runs, and the envelope middleware's early 413 trusts `Content-Length`. A chunked body (no
Content-Length), or one whose Content-Length is absent or lies, would reach memory and disk
whatever its size. This plain ASGI middleware (ARCHITECTURE.md rule 13) wraps the HTTP
application and counts the bytes of each `http.request` message as the application pulls them:

- A body is limited by its route. Everywhere: DATA_UPLOAD_MAX_MEMORY_SIZE, the JSON limit,
  whatever the Content-Type says. On an upload route (a DRF view that parses multipart): the
  caller's tier file limit (MEDIA_UPLOAD_MAX_BYTES) times the files the route takes (the
  view's `upload_max_files`, else MEDIA_UPLOAD_MAX_FILES), plus DATA_UPLOAD_MAX_MEMORY_SIZE for
  the form fields and the multipart framing. The exact per-file limit is the view's (413
  FILE_TOO_LARGE per file, media_library/files.py); this bound is what no body may pass.
- The tier is the Bearer token's user, checked by the same authentication class as the views
  (signature, expiry, revocation): one indexed read, only for a multipart body to an upload
  route. Without a valid token the upload route has the JSON limit (its view would answer 401).
  Outside the families' paths (the admin) a multipart body may carry one file of the largest
  tier.
- A declared Content-Length over the limit is refused before anything is read. A body that
  passes the limit as it streams is refused at the message that would pass it: the
  application is told the client went away (`http.disconnect`), so Django drops what it
  buffered and runs no view, and nothing more is read.
- The refusal is 413 in the family's envelope, passed through the envelope middleware as any
  API answer (family M: X-Request-ID, counted against the caller, X-RateLimit-*), with
  `Connection: close`, so the server reads no more of this connection.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import DatabaseError, connections
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from rest_framework.exceptions import APIException
from rest_framework.parsers import FileUploadParser, MultiPartParser

from config.api.authentication import BearerJWTAuthentication
from config.api.errors import api_error, json_error
from config.api.middleware import ApiErrorEnvelopeMiddleware
from config.families import family_for_path
from core.errors import ErrorCode
from media_library.services import upload_limit_for

UPLOAD_PARSERS = (MultiPartParser, FileUploadParser)


@dataclass(frozen=True)
class BodyLimit:
    """The most bytes a request's body may have, and how a refusal says so."""

    size: int
    code: ErrorCode
    message: str


class BodyLimitMiddleware:
    """Wrap an ASGI HTTP application: refuse a body past its route's limit with 413."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared, content_type = _length_and_type(scope)
        limit = await body_limit_for(scope, content_type)
        if limit is None:
            return await self.app(scope, receive, send)
        if declared is not None and declared > limit.size:
            await _refuse(scope, send, limit)
            return None

        received = 0
        refused = False

        async def limited_receive():
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.size:
                    refused = True
                    await _refuse(scope, send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if not refused:
                await send(message)

        return await self.app(scope, limited_receive, guarded_send)


def _length_and_type(scope) -> tuple[int | None, str]:
    """The declared Content-Length (None when absent or unreadable) and the Content-Type."""
    declared = None
    content_type = ""
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and declared is None:
            try:
                declared = int(value)
            except ValueError:
                declared = None
        elif name == b"content-type":
            content_type = value.decode("latin-1").lower()
    return declared, content_type


async def body_limit_for(scope, content_type: str) -> BodyLimit | None:
    """The limit of this request's body; None when DATA_UPLOAD_MAX_MEMORY_SIZE is None."""
    json_limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    without_token = ""
    if content_type.startswith("multipart/"):
        path = scope["path"]
        family = family_for_path(path)
        fields = json_limit or 0
        if family is None:
            largest = max(settings.MEDIA_UPLOAD_MAX_BYTES.values())
            size = largest + fields
            return BodyLimit(size, ErrorCode.PAYLOAD_TOO_LARGE, _too_large(size))
        files = upload_files_for(path)
        if files:
            user = await in_request_thread(_bearer_user, scope)
            if user is not None:
                per_file = upload_limit_for(user)
                size = per_file * files + fields
                tier = getattr(user, "tier", "free")
                message = (
                    f"Upload too large: the {tier} tier takes at most {files} file(s) of "
                    f"{per_file} bytes each here, {size} bytes in one request"
                )
                return BodyLimit(size, ErrorCode.FILE_TOO_LARGE, message)
            without_token = " without a valid access token"
    if json_limit is None:
        return None
    return _json_limit(json_limit, without_token)


@functools.cache
def _json_limit(size: int, without_token: str) -> BodyLimit:
    message = f"Request body too large (limit {size} bytes{without_token})"
    return BodyLimit(size, ErrorCode.PAYLOAD_TOO_LARGE, message)


def _too_large(size: int) -> str:
    return f"Request body too large (limit {size} bytes)"


def upload_files_for(path: str) -> int:
    """How many files the route at `path` takes in one request; 0 when it takes no upload."""
    try:
        match = resolve(path)
    except Resolver404:
        return 0
    view_class = getattr(match.func, "view_class", None)
    parsers = getattr(view_class, "parser_classes", None) or ()
    if not any(isinstance(p, type) and issubclass(p, UPLOAD_PARSERS) for p in parsers):
        return 0
    return getattr(view_class, "upload_max_files", None) or settings.MEDIA_UPLOAD_MAX_FILES


def _request(scope) -> ASGIRequest:
    """A Django request for the scope, with no body (nothing of it has been read)."""
    return ASGIRequest(scope, io.BytesIO())


def _bearer_user(scope):
    """The Bearer token's user, as the views authenticate it; None when there is no valid one."""
    try:
        found = BearerJWTAuthentication().authenticate(_request(scope))
    except (APIException, DatabaseError):
        return None
    return found[0] if found else None


async def in_request_thread(func: Callable, *args):
    """Run sync `func` as Django runs a request's sync code: on a thread of the request's own
    (Django's when the handler is already serving the request, else one for this call), with
    the database connections it opened closed when it is done, as Django closes a request's."""

    def run():
        opened_before = {
            conn.alias
            for conn in connections.all(initialized_only=True)
            if conn.connection is not None
        }
        try:
            return func(*args)
        finally:
            for conn in connections.all(initialized_only=True):
                if conn.connection is not None and conn.alias not in opened_before:
                    conn.close()

    async with ThreadSensitiveContext():
        return await sync_to_async(run)()


def _refusal(scope, limit: BodyLimit, family: str) -> HttpResponse:
    """The 413 in the family's envelope, through the envelope middleware like any API answer."""
    request = _request(scope)
    refusal = json_error(family, api_error(limit.code, family, limit.message), request)
    return ApiErrorEnvelopeMiddleware(lambda _request: refusal)(request)


async def _refuse(scope, send: Callable[[dict], Awaitable[None]], limit: BodyLimit) -> None:
    family = family_for_path(scope["path"])
    if family is None:
        response = HttpResponse(limit.message, status=413, content_type="text/plain; charset=utf-8")
    else:
        response = await in_request_thread(_refusal, scope, limit, family)
    response["Connection"] = "close"
    body = response.content
    response["Content-Length"] = str(len(body))
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.items()]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
