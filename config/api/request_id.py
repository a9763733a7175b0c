"""The request id of family M: one per request, echoed as `X-Request-ID` and in error bodies.

A client (or a proxy in front of the server) may send its own `X-Request-ID` to correlate logs;
it is kept when it is sane (1 to 128 characters of letters, digits and `-_.:`), else the server
makes one (`req-` and 16 random hex digits). The id is stored on the Django request, so the
view, its error handler and the middleware all see the same one.
"""

from __future__ import annotations

import re
import secrets

HEADER = "X-Request-ID"
_META_KEY = "HTTP_X_REQUEST_ID"
_SANE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_ATTRIBUTE = "_movie_request_id"


def new_request_id() -> str:
    return f"req-{secrets.token_hex(8)}"


def request_id_for(request) -> str:
    """The id of `request` (a Django HttpRequest or a DRF Request), made once on first use."""
    django_request = getattr(request, "_request", request)
    existing = getattr(django_request, _ATTRIBUTE, None)
    if existing:
        return existing
    sent = (getattr(django_request, "META", {}) or {}).get(_META_KEY, "").strip()
    value = sent if _SANE.match(sent) else new_request_id()
    setattr(django_request, _ATTRIBUTE, value)
    return value
