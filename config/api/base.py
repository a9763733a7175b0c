"""One base view class per family. Every API view inherits from exactly one of these
(family A's are in config/api/assistant.py, so the others reach nothing of its identity).

Sync routes use DRF's `APIView`; a route with a handler that waits on a model uses the
`Async*` variant, adrf's async view (config/compat/adrf.py). Each sets its family's
authentication, permissions, throttles, pagination and `get_exception_handler()` through DRF's
public attributes and hooks.
"""

from __future__ import annotations

import inspect

from rest_framework.exceptions import APIException
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from config.api.authentication import BearerJWTAuthentication
from config.api.errors import (
    game_exception_handler,
    movie_exception_handler,
)
from config.api.movie import movie_response_headers
from config.api.pagination import MoviePagination
from config.api.parsers import SafeJSONParser
from config.api.permissions import Authenticated, GameAccess
from config.api.renderers import MovieJSONRenderer
from config.api.throttles import GameRateThrottle, MovieTierThrottle
from config.compat.adrf import AsyncAPIView


class FamilyApiView(APIView):
    """Shared policy: JSON in, JSON out; subclasses set auth, throttles and the envelope."""

    renderer_classes = [JSONRenderer]
    parser_classes = [SafeJSONParser]
    family = "G"

    def get_exception_handler(self):
        raise NotImplementedError

    def dispatch(self, request, *args, **kwargs):
        """DRF's dispatch (adrf's, a coroutine, for async views), then let go of what points
        back at the view, whose request names it (`parser_context`) as the response does
        (`renderer_context`): otherwise each request leaves a cycle that only a full
        collection frees (tests/test_sse_cycles.py). The response is rendered afterwards
        from its own context, which does not need the view's attributes."""
        try:
            response = super().dispatch(request, *args, **kwargs)
        except BaseException:
            self.let_go()
            raise
        if inspect.isawaitable(response):
            return self._let_go_after(response)
        self.let_go()
        return response

    async def _let_go_after(self, pending):
        try:
            return await pending
        finally:
            self.let_go()

    def let_go(self) -> None:
        """Drop the request, the response and the `head` alias of `get` that Django's
        `View.setup` binds to the instance (a bound method is a way back to the view); the
        request's `parser_context` names the request itself and the view (the body, if any,
        was parsed during dispatch)."""
        request = self.__dict__.get("request")
        context = getattr(request, "parser_context", None)
        if isinstance(context, dict):
            context.pop("request", None)
            context.pop("view", None)
        for name in ("request", "response", "head"):
            self.__dict__.pop(name, None)


class GameApiView(FamilyApiView):
    """Family G: optional Bearer JWT (required when GAME_REQUIRE_AUTH), `{"error": ...}`."""

    family = "G"
    authentication_classes = [BearerJWTAuthentication]
    permission_classes = [GameAccess]
    throttle_classes = [GameRateThrottle]

    def get_exception_handler(self):
        return game_exception_handler


class MovieApiView(FamilyApiView):
    """Family M: Bearer JWT required; `"success": true` added to every success body by the
    renderer (views return their payload only), `{"success": false, "error": {...}}` for
    errors; `X-Request-ID` and the tier's `X-RateLimit-*` headers on every answer.

    DRF authenticates, checks permissions, then throttles. M counts every request, a refused
    one included, and answers 429 before 401 or 403 once the caller is over the limit: a
    failed authentication counts the request (anonymous) before it is raised, and the
    permission check counts it first. DRF's own throttle check afterwards is then skipped, so
    no throttle counts the request twice.
    """

    family = "M"
    renderer_classes = [MovieJSONRenderer]
    authentication_classes = [BearerJWTAuthentication]
    permission_classes = [Authenticated]
    throttle_classes = [MovieTierThrottle]
    pagination_class = MoviePagination

    def get_exception_handler(self):
        return movie_exception_handler

    def perform_authentication(self, request):
        try:
            super().perform_authentication(request)
        except APIException:
            self.check_throttles(request)
            raise

    def check_permissions(self, request):
        self.check_throttles(request)
        super().check_permissions(request)

    def check_throttles(self, request):
        # A view instance serves one request: once checked, the request has been counted.
        if getattr(self, "throttles_checked", False):
            return
        self.throttles_checked = True
        super().check_throttles(request)

    def paginate(self, queryset, request):
        """(items of the requested page, the seed's pagination object)."""
        return self.pagination_class().paginate(queryset, request)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        movie_response_headers(request, response)
        return response


class AsyncMovieApiView(MovieApiView, AsyncAPIView):
    """Family M for routes that wait on a model: async handlers, M's policies and envelope."""


class AsyncGameApiView(GameApiView, AsyncAPIView):
    """Family G for routes that wait on a model: async handlers, G's policies and envelope."""
