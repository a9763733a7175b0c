"""The benchmark's ASGI application: the project's, plus the bare baseline views.

`/bench/bare/…` goes to a Django handler with no middleware and the URLconf of
bench/bare.py; everything else goes to `config.asgi.application` unchanged, so both are
served by the same process, settings and database connections. Only the benchmark harness
(bench/serving.py) serves this module; `make run` and the tests serve config.asgi.
"""

from __future__ import annotations

from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response

from config.asgi import application as project_application  # sets Django up

BARE_PREFIX = "/bench/bare/"


class BareASGIHandler(ASGIHandler):
    """Django's ASGI handler with an empty middleware chain and the bare URLconf."""

    def load_middleware(self, is_async=False):
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        get_response = self._get_response_async if is_async else self._get_response
        self._middleware_chain = convert_exception_to_response(get_response)

    def resolve_request(self, request):
        request.urlconf = "bench.bare"
        return super().resolve_request(request)


bare_application = BareASGIHandler()


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"].startswith(BARE_PREFIX):
        return await bare_application(scope, receive, send)
    return await project_application(scope, receive, send)
