"""The environment switches every other settings module reads: run mode, paths, helpers.

`DATABASE_URL` and `REDIS_URL` pick the production shape; with neither set the server runs
embedded (SQLite, in-memory channel layer, local-memory cache). The helpers here are the one
way settings read booleans and lists from the environment.
"""

import os
from pathlib import Path

from config.embedded import local_dir

BASE_DIR = Path(__file__).resolve().parent.parent.parent
LOCAL_DIR = local_dir()


def env_bool(name: str, default: bool = False) -> bool:
    """Read a boolean environment variable ("1", "true", "yes", "on" are true)."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    """Read a comma-separated environment variable."""
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
EMBEDDED = not DATABASE_URL and not REDIS_URL
# HTTPS=1: the deployment is behind TLS (what it switches on: config/settings/security.py).
HTTPS = env_bool("HTTPS", False)
# What a production deployment looks like: defaults that are safe only on one's own machine
# (any origin for A's cookie, open diagnostics) are off here.
PRODUCTION_SHAPE = not EMBEDDED or HTTPS
DEBUG = env_bool("DEBUG", False)
# Requests' and AI turns' sync code on reused threads (core/threads.py); 0: Django's own
# thread per request.
ASGI_REUSE_THREADS = env_bool("ASGI_REUSE_THREADS", True)
# A serving process freezes what survives a slow (50 ms) full garbage collection, and hands
# it back for one whole collection once frozen this many seconds (config/startup.py); 0:
# Python's collector as it is, after start-up's own freeze.
GC_WHOLE_COLLECTION_SECONDS = float(os.environ.get("GC_WHOLE_COLLECTION_SECONDS", 60))
