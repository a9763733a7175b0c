"""One base view class per family. Every API view inherits from exactly one of these."""

from __future__ import annotations

from adrf.views import APIView as AsyncAPIView
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from config.api.authentication import BearerJWTAuthentication
from config.api.errors import (
    assistant_exception_handler,
    game_exception_handler,
    movie_exception_handler,
)
from config.api.permissions import Authenticated, GameAccess
from config.api.throttles import AssistantRateThrottle, GameRateThrottle


class FamilyApiView(APIView):
    """Shared policy: JSON in, JSON out; subclasses set auth, throttles and the envelope."""

    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
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
    """Family M: Bearer JWT required, `{"success": false, "error": {...}}` envelope."""

    family = "M"
    authentication_classes = [BearerJWTAuthentication]
    permission_classes = [Authenticated]
    throttle_classes = []

    def get_exception_handler(self):
        return movie_exception_handler


class AsyncGameApiView(AsyncAPIView, GameApiView):
    """Family G for routes that wait on a model: async handlers, G's policies and envelope."""


class AsyncAssistantApiView(AsyncAPIView, AssistantApiView):
    """Family A for routes that wait (a chat's detail and its streamed reply): async handlers,
    A's policies and envelope. adrf runs a class's handlers all sync or all async."""
