"""The request id of family M: one per request, echoed as `X-Request-ID` and in error bodies.

A client (or a proxy in front of the server) may send its own `X-Request-ID` to correlate logs;
it is kept when it is sane (1 to 128 characters of letters, digits and `-_.:`), else the server
makes one (`req-` and 16 random hex digits).

The id is kept in the request's `META` under an application key (lower case, with a dot, as
PEP 3333 names application entries in the environ). A DRF `Request` hands out its Django
request's very `META` dict, so the view, its error handler, the middleware and the request log
all see the same id, whichever of the two request objects they hold.
"""

from __future__ import annotations

import re
import secrets

HEADER = "X-Request-ID"
_META_KEY = "HTTP_X_REQUEST_ID"
_SANE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
META_REQUEST_ID = "aistory.request_id"


def new_request_id() -> str:
    return f"req-{secrets.token_hex(8)}"


def request_id_for(request) -> str:
    """The id of `request` (a Django HttpRequest or a DRF Request), made once on first use."""
    meta = getattr(request, "META", None)
    if meta is None:
        return new_request_id()
    existing = meta.get(META_REQUEST_ID)
    if existing:
        return existing
    sent = (meta.get(_META_KEY) or "").strip()
    value = sent if _SANE.match(sent) else new_request_id()
    meta[META_REQUEST_ID] = value
    return value
