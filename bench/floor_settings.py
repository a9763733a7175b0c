"""Settings of the start-floor measurement (bench/start_floor.py): the project's own, with
the floor's URLs in front of the project's; `START_FLOOR_MIDDLEWARE=none` empties the
middleware chain (Django's handler alone)."""

import os

from config.settings.base import *  # noqa: F403

ROOT_URLCONF = "bench.start_floor"
if os.environ.get("START_FLOOR_MIDDLEWARE") == "none":
    MIDDLEWARE: list[str] = []
