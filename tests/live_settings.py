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
# A server process of its own: requests and turns on reused threads, as in production, which
# keep their SQLite connections (config/settings/stores.py).
ASGI_REUSE_THREADS = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["CONN_MAX_AGE"] = None
AI_OFFLINE_DELAY = float(os.environ.get("LIVE_SERVER_AI_OFFLINE_DELAY", "0.02"))

# A test may point the server's model calls at its own OpenAI-compatible server (a fake in the
# test process, tests/fake_openai.py), to hold a reply in flight for as long as it needs:
# `LIVE_SERVER_AI_BASE_URL`, for the tasks `LIVE_SERVER_AI_TASKS` names (default: dialogue).
# The other tasks stay on the offline provider.
if os.environ.get("LIVE_SERVER_AI_BASE_URL"):
    from config.settings.test import AI_TASKS

    _POINTED = set(os.environ.get("LIVE_SERVER_AI_TASKS", "dialogue").split(","))
    AI_TASKS = {
        task: (
            {
                **config,
                "base_url": os.environ["LIVE_SERVER_AI_BASE_URL"],
                "api_key": os.environ.get("LIVE_SERVER_AI_API_KEY", "sk-fake-test-key"),
                "model": f"fake-{task}",
                "timeout": 60.0,
                "max_retries": 0,
                "offline": False,
            }
            if task in _POINTED
            else config
        )
        for task, config in AI_TASKS.items()
    }
