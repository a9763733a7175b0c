"""What a request's log line carries that only code deep inside the request knows.

The turn engine sets `turn_id` when it starts a reply in the caller's context; the request log
(config/requestlog.py) reads it when the answer is made. A context variable, so concurrent
requests on one event loop never see each other's values.
"""

from __future__ import annotations

from contextvars import ContextVar

turn_id: ContextVar[str | None] = ContextVar("turn_id", default=None)
