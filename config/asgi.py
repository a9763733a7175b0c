"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

from config.embedded import prepare

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
prepare()  # the embedded mode's kept secret key, before settings read it
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from realtime.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application})
