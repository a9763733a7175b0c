"""Family A's base views, apart from the other families' (config/api/base.py).

A's cookie identity is resolved through chats (config/api/assistant_auth.py), so only A's
routes import this module: the other families' views build on base.py and reach nothing of
chats (the `packages` import contract in pyproject.toml).
"""

from __future__ import annotations

from rest_framework.permissions import AllowAny

from config.api.assistant_auth import AssistantCookieAuthentication
from config.api.authentication import BearerJWTAuthentication
from config.api.base import FamilyApiView
from config.api.errors import assistant_exception_handler
from config.api.throttles import AssistantRateThrottle
from config.compat.adrf import AsyncAPIView


class AssistantApiView(FamilyApiView):
    """Family A: session-cookie identity or Bearer JWT, `{"statusCode", "statusMessage"}`."""

    family = "A"
    # Bearer first: a token names the user; without one, the cookie identity (its class
    # refuses a foreign Origin). Views read the caller with assistant_auth.assistant_identity.
    authentication_classes = [BearerJWTAuthentication, AssistantCookieAuthentication]
    permission_classes = [AllowAny]
    throttle_classes = [AssistantRateThrottle]

    def get_exception_handler(self):
        return assistant_exception_handler


class AsyncAssistantApiView(AssistantApiView, AsyncAPIView):
    """Family A for routes that wait (a chat's detail and its streamed reply): async handlers,
    A's policies and envelope."""
