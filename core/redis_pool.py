"""One Redis connection pool per process, shared by the cache and the rate counters.

Django keeps its cache handles per context (an asgiref `Local`), and under ASGI every request
runs in a context of its own, so the built-in `RedisCache` builds a fresh client, and with it a
fresh `redis.ConnectionPool`, for every request: a new connection (`HELLO`, `SELECT`) each
time. The fix goes through the hook Django documents for that backend, the `pool_class`
option: `SharedConnectionPool.from_url` hands every caller the one pool of this process for
that URL and those options, created on first use under a lock, so every context and thread
checks connections out of the same pool.

Why not django-redis: its `ConnectionFactory` does keep pools at module level, but it is one
more dependency, it builds a client per context all the same, and its raw client is reached
through its own API; Django's built-in backend with this pool class needs no new package and
keeps `BACKEND` the stock one.

Fork safety: uvicorn `--workers` spawns its processes, so a module-level pool is per process;
redis-py's pool also resets itself when it finds itself in a child of a fork.

`cache_redis()` gives code that needs a command the cache API lacks (the rate counters' single
round trip) a client on that same pool, with the cache's own key function, or None when the
cache is not Redis (the embedded mode's local memory cache).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

# Options that only name the client library to the server (CLIENT SETINFO): Django builds a
# new DriverInfo for every client, and they never change what a connection does.
_IDENTITY_OPTIONS = frozenset({"driver_info", "lib_name", "lib_version"})

_lock = threading.Lock()
_pools: dict[tuple, redis.ConnectionPool] = {}


def _option(name: str, value: Any) -> tuple[str, Any]:
    try:
        hash(value)
    except TypeError:
        return name, repr(value)
    return name, value


def _pool_key(cls: type, url: str, options: dict[str, Any]) -> tuple:
    """What tells two pools apart: the class, the URL and the options that shape a connection
    (an option equal to redis-py's own default is the same pool as leaving it out)."""
    items = []
    for name, value in options.items():
        if name in _IDENTITY_OPTIONS:
            continue
        if name == "parser_class" and value in (None, redis.connection.DefaultParser):
            continue
        items.append(_option(name, value))
    return (cls, url, tuple(sorted(items, key=lambda item: item[0])))


class SharedConnectionPool(redis.ConnectionPool):
    """A `redis.ConnectionPool` whose `from_url` returns the process's one pool for that URL and
    those options. Set as the cache's `OPTIONS["pool_class"]`."""

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SharedConnectionPool:
        key = _pool_key(cls, url, options)
        pool = _pools.get(key)
        if pool is None:
            with _lock:
                pool = _pools.get(key)
                if pool is None:
                    pool = _pools[key] = super().from_url(url, **options)
        return pool


def shared_pools() -> list[redis.ConnectionPool]:
    """Every pool this process holds (tests count them)."""
    with _lock:
        return list(_pools.values())


@dataclass(frozen=True)
class CacheRedis:
    """A Redis client on the cache's pool, and the cache's key function (prefix, version)."""

    client: redis.Redis
    make_key: Callable[[str], str]


_cache_redis: dict[str, CacheRedis | None] = {}


def cache_redis(alias: str = "default") -> CacheRedis | None:
    """The client of cache `alias` on its shared pool, or None when that cache is not Redis."""
    try:
        return _cache_redis[alias]
    except KeyError:
        pass
    found = _build(alias)
    with _lock:
        return _cache_redis.setdefault(alias, found)


def _build(alias: str) -> CacheRedis | None:
    conf = settings.CACHES[alias]
    backend = conf["BACKEND"]
    backend = import_string(backend) if isinstance(backend, str) else backend
    if not issubclass(backend, RedisCache):
        return None
    location = conf["LOCATION"]
    servers = location.split(",") if isinstance(location, str) else list(location)
    options = dict(conf.get("OPTIONS") or {})
    options.pop("serializer", None)
    pool_class = options.pop("pool_class", None)
    if isinstance(pool_class, str):
        pool_class = import_string(pool_class)
    if not (isinstance(pool_class, type) and issubclass(pool_class, SharedConnectionPool)):
        pool_class = SharedConnectionPool
    parser_class = options.pop("parser_class", None)
    if isinstance(parser_class, str):
        parser_class = import_string(parser_class)
    if parser_class is not None:
        options["parser_class"] = parser_class
    # The cache writes to its first server; counters are writes.
    pool = pool_class.from_url(servers[0], **options)
    return CacheRedis(
        client=redis.Redis(connection_pool=pool),
        make_key=caches.create_connection(alias).make_key,
    )


def _forget_on_cache_settings(*, setting: str, **kwargs) -> None:
    """Tests that change CACHES get a client for the new settings."""
    if setting == "CACHES":
        with _lock:
            _cache_redis.clear()


setting_changed.connect(_forget_on_cache_settings)
