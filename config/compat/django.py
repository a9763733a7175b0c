"""Django's Redis cache backend with one client per process, not one per request.

Django keeps its cache handles per context (an asgiref `Local`), and under ASGI every request
runs in a context of its own, so every request builds a new `RedisCache`, whose first command
builds a new `RedisCacheClient`. core/redis_pool.py already makes them share one connection
pool; the client itself is still rebuilt, and with redis-py 8 its constructor makes a
`redis.DriverInfo`, which reads redis-py's version from the installed package's metadata
(`importlib.metadata.version`, parsing its METADATA file) every time. Measured: a cache read
in a fresh context took 0.70 ms, 0.13 ms with the client kept, and a served stream start
spent 1.2 ms of its 10 reading its cookie identity's session (bench/README.md, "Cheaper
starts, fourth round").

Django has no hook for the client's lifetime: `RedisCache` makes it in its `_cache` property
from `_class`, `_servers` and `_options`. `ProcessRedisCache` is `RedisCache` whose `_cache` is
the process's one client for the same servers and options (made once, under a lock). The client
keeps nothing of a request: its serializer, its pool options and the pools, which are shared
anyway. Its `redis.Redis` handle per pool is kept too (redis-py's client is thread-safe; it
checks a connection out of the pool for each command). Checked for TESTED; on any other Django,
`ProcessRedisCache` is `RedisCache` unchanged. tests/test_redis_pool.py fails when the pin
moves.
"""

from __future__ import annotations

import threading
from typing import Any

import django
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property

TESTED = ("6.1.3",)
ACTIVE = django.get_version() in TESTED

_lock = threading.Lock()
_clients: dict[tuple, RedisCacheClient] = {}


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


class ProcessRedisCacheClient(RedisCacheClient):
    """Django's client, with one `redis.Redis` handle per connection pool."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._handles: dict[int, Any] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        handle = self._handles.get(id(pool))
        if handle is None:
            handle = self._handles.setdefault(id(pool), super().get_client(key, write=write))
        return handle


class ProcessRedisCache(RedisCache):
    """Django's `RedisCache`; its client is the process's one for these servers and options."""

    if ACTIVE:

        @cached_property
        def _cache(self) -> RedisCacheClient:
            options = tuple(sorted((k, _hashable(v)) for k, v in self._options.items()))
            key = (tuple(self._servers), options)
            client = _clients.get(key)
            if client is None:
                with _lock:
                    client = _clients.get(key)
                    if client is None:
                        client = _clients[key] = ProcessRedisCacheClient(
                            self._servers, **self._options
                        )
            return client


def process_clients() -> int:
    """How many clients this process holds (tests)."""
    with _lock:
        return len(_clients)
