"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

import django

from config.embedded import prepare

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
prepare()  # the embedded mode's kept secret key, before settings read it
django.setup(set_prefix=False)  # what get_asgi_application() does before its handler

from config.handler import ReusedThreadASGIHandler  # noqa: E402

# Django's ASGI handler with request threads reused and the middleware's hop-free
# equivalents (config/handler.py, config/middleware.py).
django_asgi_app = ReusedThreadASGIHandler()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from config.body_limit import BodyLimitMiddleware  # noqa: E402
from config.metrics import SocketMetricsMiddleware  # noqa: E402
from realtime.routing import websocket_application  # noqa: E402

# Bodies are counted as they are read, before Django buffers them (config/body_limit.py).
http_application = BodyLimitMiddleware(django_asgi_app)

# Open sockets are counted by family for /metrics (config/metrics.py).
application = ProtocolTypeRouter(
    {"http": http_application, "websocket": SocketMetricsMiddleware(websocket_application)}
)
