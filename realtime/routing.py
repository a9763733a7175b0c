"""WebSocket routes: the game's /ws and the movie platform's /api/v1/websocket."""

from channels.routing import URLRouter
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.urls import path

from realtime.consumers.game import GameConsumer
from realtime.consumers.movie import MovieConsumer
from realtime.middleware import JWTScopeMiddleware

websocket_urlpatterns = [
    path("ws", GameConsumer.as_asgi()),
    path("api/v1/websocket", MovieConsumer.as_asgi()),
]

# Sockets authenticate by token, not by cookie, so any origin may connect unless
# WS_ALLOWED_ORIGINS narrows it (game clients outside browsers send no Origin at all).
websocket_application = OriginValidator(
    JWTScopeMiddleware(URLRouter(websocket_urlpatterns)), settings.WS_ALLOWED_ORIGINS
)
