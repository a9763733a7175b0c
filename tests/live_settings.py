"""Settings of the live server that tests start (tests/live.py): the test settings, pointed at
the test run's own database, with the offline provider streaming slowly enough that a client
can drop a stream and resume it mid-way.

The cache and the channel layer come from the same environment as the test run's
(`REDIS_URL`), so with Redis both processes share them.
"""

import os

from config.settings.test import *  # noqa: F403
from config.settings.test import DATABASES

DATABASES["default"]["NAME"] = os.environ["LIVE_SERVER_DB_NAME"]
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Named, so the test run can wait for these sessions to end before it drops its database.
    DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = os.environ[
        "LIVE_SERVER_APPLICATION_NAME"
    ]
AI_OFFLINE_DELAY = float(os.environ.get("LIVE_SERVER_AI_OFFLINE_DELAY", "0.02"))
