"""The baseline's ASGI application: stock Django, nothing of the project's serving path.

`get_asgi_application()` with bench/bare_settings.py (no middleware, the bare views of
bench/bare.py, Django's own connection pool). bench/serving.py serves it in a process of its
own, through the same server entry point as the API's process, which serves the production
application (`config.asgi:application`) unchanged. Only the benchmark serves this module.
"""

import os

# bench/serving.py sets it for the process: the server entry point reads settings before it
# loads this module, so setting it here would come too late.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.bare_settings")

from config.embedded import prepare

prepare()  # the embedded mode's kept secret key, as config.asgi does

from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

application = get_asgi_application()

if settings.ROOT_URLCONF != "bench.bare":
    raise RuntimeError("bench.asgi needs DJANGO_SETTINGS_MODULE=bench.bare_settings")
