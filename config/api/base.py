"""One base view class per family. Every API view inherits from exactly one of these."""

from __future__ import annotations

from inspect import iscoroutinefunction

from adrf.views import APIView as AdrfAPIView
from asgiref.sync import sync_to_async
from rest_framework.exceptions import APIException
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from config.api.authentication import BearerJWTAuthentication
from config.api.errors import (
    assistant_exception_handler,
    game_exception_handler,
    movie_exception_handler,
)
from config.api.movie import movie_response_headers
from config.api.pagination import MoviePagination
from config.api.parsers import SafeJSONParser
from config.api.permissions import Authenticated, GameAccess
from config.api.renderers import MovieJSONRenderer
from config.api.throttles import AssistantRateThrottle, GameRateThrottle, MovieTierThrottle


class AsyncAPIView(AdrfAPIView):
    """adrf's async view, with its sync handlers in one thread hop.

    A route that waits on a model has an async handler; its other methods (a plain read, an
    update) are sync. adrf would run such a request as three thread round trips: `initial()`
    in a thread, back to the event loop for async throttles even when there are none
    (`async_to_sync`), then the handler in a thread again. Here a sync handler's whole DRF
    dispatch (authentication, throttles, permissions, handler, exception handling, response
    finalisation) runs as one `sync_to_async` call, as Django runs a sync view; an async
    handler keeps adrf's path. Django's check that a class's handlers are all sync or all
    async does not apply: the class is async and dispatches per method.
    """

    view_is_async = True

    async def async_dispatch(self, request, *args, **kwargs):
        method = request.method.lower()
        handler = getattr(self, method, None) if method in self.http_method_names else None
        if handler is not None and iscoroutinefunction(handler):
            return await super().async_dispatch(request, *args, **kwargs)
        return await sync_to_async(self.sync_dispatch)(request, *args, **kwargs)

    def check_throttles(self, request):
        # adrf calls async_to_sync for its async throttles even when there are none: a
        # round trip to the event loop per request. None of ours is async.
        if any(iscoroutinefunction(t.allow_request) for t in self.get_throttles()):
            return super().check_throttles(request)
        return APIView.check_throttles(self, request)


class FamilyApiView(APIView):
    """Shared policy: JSON in, JSON out; subclasses set auth, throttles and the envelope."""

    renderer_classes = [JSONRenderer]
    parser_classes = [SafeJSONParser]
    family = "G"

    def get_exception_handler(self):
        raise NotImplementedError


class GameApiView(FamilyApiView):
    """Family G: optional Bearer JWT (required when GAME_REQUIRE_AUTH), `{"error": ...}`."""

    family = "G"
    authentication_classes = [BearerJWTAuthentication]
    permission_classes = [GameAccess]
    throttle_classes = [GameRateThrottle]

    def get_exception_handler(self):
        return game_exception_handler


class AssistantApiView(FamilyApiView):
    """Family A: session-cookie identity or Bearer JWT, `{"statusCode", "statusMessage"}`."""

    family = "A"
    authentication_classes = [BearerJWTAuthentication]
    permission_classes = [AllowAny]
    throttle_classes = [AssistantRateThrottle]

    def get_exception_handler(self):
        return assistant_exception_handler


class MovieApiView(FamilyApiView):
    """Family M: Bearer JWT required; `"success": true` added to every success body by the
    renderer (views return their payload only), `{"success": false, "error": {...}}` for
    errors; `X-Request-ID` and the tier's `X-RateLimit-*` headers on every answer.

    DRF authenticates, checks permissions, then throttles. M counts every request, a refused
    one included, so this view authenticates first, counts the request (anonymous when the
    token is bad), and only then raises the authentication error or checks permissions.
    """

    family = "M"
    renderer_classes = [MovieJSONRenderer]
    authentication_classes = [BearerJWTAuthentication]
    permission_classes = [Authenticated]
    throttle_classes = [MovieTierThrottle]
    pagination_class = MoviePagination

    def get_exception_handler(self):
        return movie_exception_handler

    def initial(self, request, *args, **kwargs):
        self.format_kwarg = self.get_format_suffix(**kwargs)
        neg = self.perform_content_negotiation(request)
        request.accepted_renderer, request.accepted_media_type = neg
        version, scheme = self.determine_version(request, *args, **kwargs)
        request.version, request.versioning_scheme = version, scheme
        auth_error = None
        try:
            self.perform_authentication(request)
        except APIException as exc:
            auth_error = exc
        self.check_throttles(request)
        if auth_error is not None:
            raise auth_error
        self.check_permissions(request)

    def paginate(self, queryset, request):
        """(items of the requested page, the seed's pagination object)."""
        return self.pagination_class().paginate(queryset, request)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        movie_response_headers(request, response)
        return response


class AsyncMovieApiView(AsyncAPIView, MovieApiView):
    """Family M for routes that wait on a model: async handlers, M's policies and envelope."""


class AsyncGameApiView(AsyncAPIView, GameApiView):
    """Family G for routes that wait on a model: async handlers, G's policies and envelope."""


class AsyncAssistantApiView(AsyncAPIView, AssistantApiView):
    """Family A for routes that wait (a chat's detail and its streamed reply): async handlers,
    A's policies and envelope; a sync handler of the same class runs in one thread hop."""
