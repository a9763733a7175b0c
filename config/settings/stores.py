"""Where state lives: the database, the cache and the channel layer, per run mode."""

import os

import dj_database_url

from config.settings.environment import DATABASE_URL, LOCAL_DIR, REDIS_URL

if DATABASE_URL:
    # Under ASGI each request may run its sync code in a new thread, so persistent
    # per-thread connections would pile up; a psycopg pool shares a bounded set instead.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        from psycopg_pool import ConnectionPool

        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": int(os.environ.get("DB_POOL_MIN", 2)),
            "max_size": int(os.environ.get("DB_POOL_MAX", 20)),
            # How long a request waits for a connection before it is a 503 (database down).
            "timeout": float(os.environ.get("DB_POOL_TIMEOUT", 10)),
            # A connection that broke while idle (the database restarted) is replaced when it
            # is taken, so the server recovers on its own once the database is back.
            "check": ConnectionPool.check_connection,
        }
else:
    DATABASES = {
        "default": {
            # Django's SQLite backend that creates the file's directory when it connects.
            "ENGINE": "config.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(LOCAL_DIR / "db.sqlite3")),
            # Requests and turns run their sync code on reused threads (core/threads.py), so
            # each of those threads keeps its connection: opening one (connect, the PRAGMAs,
            # Django's SQL functions) cost about 1 ms, three times per streamed reply. Kept
            # connections keep their caches: fifty streams touch some forty connections, and at
            # sqlite3's 128 prepared statements and SQLite's 2 MB of pages each, the relay's
            # resident memory grew 7 % from its 1,000th stream to its 10,000th (target 5 %;
            # bench/README.md, "Kept SQLite connections"). 16 statements and 512 KiB of pages
            # a connection: +3.6 % (the file's pages stay in the OS's cache either way).
            "CONN_MAX_AGE": None,
            # IMMEDIATE takes the write lock at BEGIN, so counters bumped inside a
            # transaction (message sequence numbers) cannot interleave. WAL lets readers run
            # beside the writer.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "cached_statements": 16,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-512;"
                ),
            },
        }
    }

if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache with one client per process (config/compat/django.py): stock,
            # every request builds its own, at 0.6 ms each with redis-py 8.
            "BACKEND": "config.compat.django.ProcessRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "aistory"),
            # One connection pool per process for every request's cache handle and the rate
            # counters (core/redis_pool.py); stock RedisCache builds one per request under ASGI.
            "OPTIONS": {"pool_class": "core.redis_pool.SharedConnectionPool"},
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            # channels_redis's pub/sub layer: per process one subscriber connection that hands
            # each message to its local sockets, and a broadcast is one PUBLISH, whatever the
            # number of sockets (README "Realtime"). Nothing is stored in Redis: a socket hears
            # what is published while it is connected, and resyncs over REST otherwise.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL}],
                "prefix": os.environ.get("CHANNEL_PREFIX", "aistory"),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Sessions are read through the cache and kept in the database: Django's `cached_db`, falling
# back to the database alone while the cache is down (config/sessions.py).
SESSION_ENGINE = "config.sessions"
