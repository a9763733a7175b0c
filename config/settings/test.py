"""Test settings: the same as base, with a fixed key, fast hashing and no rate limits."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, LOCAL_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
THROTTLE_RATES = {"game": None, "assistant": None, "auth_login": None}
AI_TURN_RATE = None
# The in-process client (tests/asgi_client.py) runs the application from the test's thread, so
# that sync code reaches the test's transaction there; a reused thread would not see it. The
# live server (tests/live_settings.py) reuses threads as production does.
ASGI_REUSE_THREADS = False

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not :memory:, so threads in the concurrency tests share one database with
    # real locking.
    # One file per run, so two test runs on one machine never share a database.
    DATABASES["default"]["TEST"] = {"NAME": str(LOCAL_DIR / f"test-{os.getpid()}.sqlite3")}
    # In-process, the tests share asgiref's one sync thread: a connection kept there would
    # carry one test's database into the next, where a test without one (a socket's
    # consumer checking its connection) is refused it. The live server (tests/live_settings.py)
    # keeps its connections, as production does.
    DATABASES["default"]["CONN_MAX_AGE"] = 0

# The offline provider streams without pauses in tests; no test reaches a real model.
AI_OFFLINE_DELAY = 0.0
AI_TASKS = {
    task: {**config, "base_url": "", "api_key": "", "offline": True}
    for task, config in AI_TASKS.items()  # noqa: F405
}
