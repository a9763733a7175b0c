"""The Redis channel layer with a connection pool that waits instead of failing.

channels_redis opens one redis-py `ConnectionPool` per event loop and Redis host, shared by
every consumer of the process. That pool refuses a request once `max_connections` (100 by
default) are busy, with `MaxConnectionsError`: when hundreds of sockets close together, most
of their group removals fail and the dead channels stay in the group until it expires, so
every later broadcast pays for them. Here the pool is a `BlockingConnectionPool`: a request
that finds every connection busy waits up to `pool_timeout` seconds for one.

Its `group_send` also takes two round trips to Redis instead of four (see there): every
broadcast to a game session's sockets pays for them, and the user's line waits on them.
"""

from __future__ import annotations

import logging
import time

from channels_redis.core import RedisChannelLayer
from channels_redis.utils import create_pool
from redis.asyncio import BlockingConnectionPool

logger = logging.getLogger(__name__)

# channels_redis's group send script, with each channel key's expired messages dropped in the
# same script rather than by a pipeline of its own before it. KEYS are the channel keys;
# ARGV: a message per key, a capacity per key, then the time, the keys' expiry and the score
# under which messages have expired.
GROUP_SEND_LUA = """
local over_capacity = 0
local n = #KEYS
local now = ARGV[2 * n + 1]
local expiry = ARGV[2 * n + 2]
local stale = ARGV[2 * n + 3]
for i = 1, n do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, stale)
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + n]) then
        redis.call('ZADD', KEYS[i], now, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""


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

    async def group_send(self, group, message):
        """channels_redis's group send in two round trips instead of four: the group's expired
        members dropped and the rest read in one pipeline, then one script per Redis host
        (by its SHA once Redis knows it) that drops each channel key's expired messages and
        adds the message where there is capacity. The same keys, scores and expiries as
        channels_redis's: its receivers read these messages unchanged. As there, every
        channel of one process shares one key, so a message to 500 sockets of one process is
        written once."""
        assert self.require_valid_group_name(group), "Group name not valid"
        key = self._group_key(group)
        connection = self.connection(self.consistent_hash(group))
        async with connection.pipeline(transaction=False) as pipe:
            pipe.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
            pipe.zrange(key, 0, -1)
            _, members = await pipe.execute()
        channel_names = [member.decode("utf8") for member in members]
        if not channel_names:
            return
        by_connection, messages, capacities = self._map_channel_keys_to_connection(
            channel_names, message
        )
        for index, channel_keys in by_connection.items():
            now = time.time()
            args = [messages[k] for k in channel_keys] + [capacities[k] for k in channel_keys]
            args += [now, self.expiry, int(now) - int(self.expiry)]
            connection = self.connection(index)
            script = connection.register_script(GROUP_SEND_LUA)
            over_capacity = await script(keys=channel_keys, args=args)
            if over_capacity > 0:
                logger.info(
                    "%s of %s channels over capacity in group %s",
                    over_capacity,
                    len(channel_names),
                    group,
                )
