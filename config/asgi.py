"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

from config.embedded import prepare

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
prepare()  # the embedded mode's kept secret key, before settings read it

from django.core.asgi import get_asgi_application  # noqa: E402

# Django's own ASGI handler, serving settings.MIDDLEWARE as it names it. Each request runs its
# sync code on a thread of its own (asgiref's ThreadSensitiveContext), reused from one request to
# the next (core/threads.py); the middleware keeps API requests on the event loop until their
# view (config/middleware.py).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from config.body_limit import BodyLimitMiddleware  # noqa: E402
from config.metrics import SocketMetricsMiddleware  # noqa: E402
from core.threads import ReusedThreads  # noqa: E402
from realtime.routing import websocket_application  # noqa: E402

# Bodies are counted as they are read, before Django buffers them (config/body_limit.py).
# Outermost, so that the body limit's own sync check runs on the request's reused thread too.
http_application = ReusedThreads(BodyLimitMiddleware(django_asgi_app))

# Open sockets are counted by family for /metrics (config/metrics.py).
application = ProtocolTypeRouter(
    {"http": http_application, "websocket": SocketMetricsMiddleware(websocket_application)}
)
