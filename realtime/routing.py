"""WebSocket routes. The game's /ws and the movie platform's socket arrive with their issues."""

from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator

websocket_urlpatterns: list = []

websocket_application = AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns))
