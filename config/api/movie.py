"""Headers family M puts on every answer: X-Request-ID and the X-RateLimit-* numbers.

Views of `MovieApiView` set them in `finalize_response`; answers made outside a view (an
unknown /api/v1/ route, a body refused before routing) get them from the error middleware,
which counts such a request against the caller too.
"""

from __future__ import annotations

from config.api.request_id import HEADER, request_id_for
from config.api.throttles import movie_rate_count, movie_rate_state


def movie_response_headers(request, response, *, count: bool = False) -> None:
    """Set X-Request-ID and, when the request was counted (or `count`), X-RateLimit-*."""
    response[HEADER] = request_id_for(request)
    state = movie_rate_state(request)
    if state is None and count:
        state = movie_rate_count(request)
    if state is not None:
        for name, value in state.headers().items():
            response[name] = value
        if not state.allowed and response.status_code == 429:
            response["Retry-After"] = str(state.retry_after())
