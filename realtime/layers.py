"""The Redis channel layer with a connection pool that waits instead of failing.

channels_redis opens one redis-py `ConnectionPool` per event loop and Redis host, shared by
every consumer of the process. That pool refuses a request once `max_connections` (100 by
default) are busy, with `MaxConnectionsError`: when hundreds of sockets close together, most
of their group removals fail and the dead channels stay in the group until it expires, so
every later broadcast pays for them. Here the pool is a `BlockingConnectionPool`: a request
that finds every connection busy waits up to `pool_timeout` seconds for one.

Its `group_send` also takes two round trips to Redis instead of four (see there): every
broadcast to a game session's sockets pays for them, and the user's line waits on them.

And its sockets receive through one reader per process (`receive`, `_read`): channels_redis
makes every consumer waiting on a process-local channel race for a receive lock, each wait a
fresh pair of tasks and an `asyncio.wait`, and each message four Redis round trips (a
backup-queue script, the pop, the backup write, its removal). A broadcast to 100 sockets of
one process then costs every one of them that machinery. Here one task per process pops the
process's messages and puts each in its channels' queues, or straight into a consumer's inbox
(`attach_channel`, realtime/dispatch.py): one wake-up per socket per message.
"""

from __future__ import annotations

import asyncio
import logging
import time

from channels_redis.core import BoundedQueue, RedisChannelLayer
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

    # Seconds the reader waits before popping again after Redis failed, doubling to the last.
    READER_RETRY_PAUSES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)

    def __init__(self, *args, pool_max_connections: int = 100, pool_timeout: float = 20, **kw):
        super().__init__(*args, **kw)
        self.pool_max_connections = pool_max_connections
        self.pool_timeout = pool_timeout
        # The process-local channels (`specific.<client prefix>!<name>`) of live consumers,
        # each with the queue the reader fills (or the consumer's own inbox: attach_channel).
        self._local: dict[str, BoundedQueue] = {}
        self._reader: asyncio.Task | None = None
        self._reader_loop: asyncio.AbstractEventLoop | None = None
        # Messages read for a channel no consumer of this process receives on (any more).
        self.dropped = 0

    # --- receiving: one reader per process ---------------------------------------------------

    async def new_channel(self, prefix="specific"):
        """A process-local channel, registered at once: a message the reader pops for it
        before its consumer first waits is kept, not dropped."""
        channel = await super().new_channel(prefix)
        self._local.setdefault(channel, BoundedQueue(self.capacity))
        return channel

    async def receive(self, channel):
        """The next message of `channel`. Process-local channels are fed by the process's
        reader; others (shared `channel.name`s) are popped directly, as channels_redis does."""
        if "!" not in channel:
            return await super().receive(channel)
        assert self.require_valid_channel_name(channel)
        real_channel = self.non_local_name(channel)
        assert real_channel.endswith(self.client_prefix + "!"), "Wrong client prefix"
        queue = self._local.get(channel)
        if queue is None:
            queue = self._local[channel] = BoundedQueue(self.capacity)
        elif not isinstance(queue, BoundedQueue):
            raise RuntimeError(f"{channel} is attached to a consumer's inbox: receive there")
        if not queue.empty():
            return queue.get_nowait()
        self._ensure_reader(real_channel)
        try:
            return await queue.get()
        except asyncio.CancelledError:
            # The consumer is gone (channels cancels its receive when it stops): so is its
            # channel, and the reader with the last one.
            self.forget_channel(channel)
            raise

    def attach_channel(self, channel: str, inbox) -> None:
        """Have the reader put `channel`'s messages straight into `inbox` (anything with a
        `put_nowait(message)` that never waits and bounds itself), instead of a queue a
        receive waits on: the consumer then waits on its inbox alone, one wake-up per message
        rather than two (realtime.dispatch.Inbox). Messages already queued move there."""
        assert "!" in channel and self.require_valid_channel_name(channel)
        real_channel = self.non_local_name(channel)
        assert real_channel.endswith(self.client_prefix + "!"), "Wrong client prefix"
        queue = self._local.get(channel)
        while isinstance(queue, BoundedQueue) and not queue.empty():
            inbox.put_nowait(queue.get_nowait())
        self._local[channel] = inbox
        self._ensure_reader(real_channel)

    def forget_channel(self, channel: str) -> None:
        """`channel`'s consumer has stopped: drop its queue (and stop the reader if it was the
        last)."""
        self._local.pop(channel, None)
        if not self._local and self._reader is not None:
            self._reader.cancel()
            self._reader = None

    def _ensure_reader(self, real_channel: str) -> None:
        loop = asyncio.get_running_loop()
        if self._reader is not None and not self._reader.done():
            if self._reader_loop is loop:
                return
            if not self._reader_loop.is_closed():
                raise RuntimeError(
                    "Two event loops are trying to receive() on one channel layer at once!"
                )
        self._reader_loop = loop
        self._reader = loop.create_task(self._read(real_channel), name="channel-layer-reader")

    async def _read(self, real_channel: str) -> None:
        """Pop this process's messages and queue each for its channels, while any consumer
        of the process lives. A message names its channels (`__asgi_channel__`, a list when
        a group send reached several sockets of this process): every one gets the same
        message. Redis failing does not end it: it logs, pauses and pops again, so sockets
        stay open across a Redis restart and hear the broadcasts sent after it."""
        index = self.consistent_hash(real_channel)
        key = self.prefix + real_channel
        failures = 0
        while self._local:
            try:
                content = await self.connection(index).bzpopmin(key, timeout=self.brpop_timeout)
            except Exception:
                pause = self.READER_RETRY_PAUSES[min(failures, len(self.READER_RETRY_PAUSES) - 1)]
                log = logger.warning if failures == 0 else logger.debug
                log("Channel layer receive failed; retrying in %s s", pause, exc_info=True)
                failures += 1
                await asyncio.sleep(pause)
                continue
            if failures:
                logger.warning("Channel layer receive works again")
                failures = 0
            if content is None:
                continue  # nothing within brpop_timeout; look again while consumers live
            try:
                self._deliver(content[1], real_channel)
            except Exception:
                # One message that cannot be read (say, sealed with another key) must not
                # leave every socket of the process deaf: it is logged and skipped.
                logger.exception("Channel layer message dropped: it could not be delivered")

    def _deliver(self, content: bytes, real_channel: str) -> None:
        message = self.deserialize(content)
        channels = message.pop("__asgi_channel__", real_channel)
        for name in channels if isinstance(channels, list) else (channels,):
            queue = self._local.get(name)
            if queue is None:
                self.dropped += 1
            else:
                queue.put_nowait(message)

    async def close_pools(self):
        if self._reader is not None:
            self._reader.cancel()
            self._reader = None
        await super().close_pools()

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
