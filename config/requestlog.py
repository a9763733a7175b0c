"""One log record per HTTP answer, on the `aistory.request` logger.

It is written only when that logger is enabled for INFO, which `LOG_FORMAT=json` does (and
there uvicorn's own access line is switched off, so each request has one line, with more in
it); with the default plain text format uvicorn's access line stays and this costs nothing.
The record carries the request id (the client's sane `X-Request-ID`, else a new one), the
family, the route pattern (never the raw path's query), the status, the duration, the user's
public id when a token named one, and the id of the AI reply the request started.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse

from config.api.request_id import request_id_for
from core import logcontext

logger = logging.getLogger("aistory.request")


def request_log(
    request: HttpRequest, response: HttpResponse, *, family: str, route: str, seconds: float
) -> None:
    if not logger.isEnabledFor(logging.INFO):
        return
    user = getattr(request, "user", None)
    user_id = None
    if user is not None and getattr(user, "is_authenticated", False):
        user_id = getattr(user, "public_id", None) or user.pk
    logger.info(
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "request_id": request_id_for(request),
            "family": family,
            "route": route,
            "method": request.method,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 2),
            "user_id": user_id,
            "turn_id": logcontext.turn_id.get(),
        },
    )
