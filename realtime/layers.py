"""The Redis channel layer with a connection pool that waits instead of failing.

channels_redis opens one redis-py `ConnectionPool` per event loop and Redis host, shared by
every consumer of the process. That pool refuses a request once `max_connections` (100 by
default) are busy, with `MaxConnectionsError`: when hundreds of sockets close together, most
of their group removals fail and the dead channels stay in the group until it expires, so
every later broadcast pays for them. Here the pool is a `BlockingConnectionPool`: a request
that finds every connection busy waits up to `pool_timeout` seconds for one.
"""

from __future__ import annotations

from channels_redis.core import RedisChannelLayer
from channels_redis.utils import create_pool
from redis.asyncio import BlockingConnectionPool


class PooledRedisChannelLayer(RedisChannelLayer):
    """`RedisChannelLayer` whose per-loop pools wait for a free connection.

    CONFIG takes channels_redis's options plus `pool_max_connections` (connections per
    process and host) and `pool_timeout` (seconds a command may wait for one; longer than
    the 5 s a receive holds its connection for)."""

    def __init__(self, *args, pool_max_connections: int = 100, pool_timeout: float = 20, **kw):
        super().__init__(*args, **kw)
        self.pool_max_connections = pool_max_connections
        self.pool_timeout = pool_timeout

    def create_pool(self, index):
        host = dict(self.hosts[index])
        if "address" not in host:  # Sentinel or keyword hosts: channels_redis's own pool
            return create_pool(host)
        address = host.pop("address")
        host.setdefault("max_connections", self.pool_max_connections)
        return BlockingConnectionPool.from_url(address, timeout=self.pool_timeout, **host)
