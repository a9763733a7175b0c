"""A claimed turn's life in Redis, so that any server process can find, resume or stop it.

With `REDIS_URL` set, a claimed turn has three keys under `CHAT_REPLAY_PREFIX:<key>`:
"live" (taken with `SET NX` by `claim`, so one process runs the conversation's turn; every
logged event refreshes its expiry, `CHAT_REPLAY_TTL`), "events" (a Redis stream of the turn's
typed events, `ai.events.to_json`) and "stop" (another process asks this one to stop the
turn; it is read in the same round trip as each write of events, so a stop lands at the
model's next piece). A resumed stream on another process reads the stream from its first
entry and then blocks for new ones until the turn's `done` event.

Every command goes through the process's one Redis pool (`core.redis_pool`, the cache's),
which also serves the cache, the rate counters and the lockout. That client is synchronous,
so the turn's writes run in a small thread pool of their own, one batch at a time (the
events ready together are one pipeline), and the blocking reads of resumed streams in
another, so neither can starve the other nor the event loop's default executor.

Redis being down never fails a turn: the log stops writing (resume and stop from other
processes degrade; the reply is still streamed and stored).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from django.conf import settings

from ai.events import DONE, TurnEvent, from_json, to_json
from core import redis_pool

# A blocked read holds a reader thread, and a process's exit waits for its threads: short
# blocks keep a shutdown prompt, at one cheap command per idle resumed stream every 2 s.
BLOCK_MS = 2_000
logger = logging.getLogger("ai.replay")

_writers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="turn-log")
_readers = ThreadPoolExecutor(max_workers=32, thread_name_prefix="turn-resume")


# `claim` in one round trip: take "live" if free, then clear the conversation's last log.
_CLAIM = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('DEL', KEYS[2], KEYS[3])
  return 1
end
return 0
"""


def _client():
    """The Redis client on the process's shared pool, or None without Redis."""
    if not settings.REDIS_URL:
        return None
    shared = redis_pool.cache_redis()
    return shared.client if shared is not None else None


def _names(key: str) -> tuple[str, str, str]:
    base = f"{settings.CHAT_REPLAY_PREFIX}:{key}"
    return f"{base}:events", f"{base}:live", f"{base}:stop"


def claim(key: str) -> bool:
    """Take the conversation's "live" key and start its log afresh (blocking: call it from
    a turn's prepare). True without Redis, or when Redis cannot be reached (one process
    still holds the claim)."""
    client = _client()
    if client is None:
        return True
    events, live, stop = _names(key)
    try:
        claim_once = client.register_script(_CLAIM)
        if not claim_once(keys=[live, events, stop], args=[settings.CHAT_REPLAY_TTL]):
            return False
    except Exception:
        logger.warning("Turn registry unavailable; this turn is known in this process only")
    return True


async def live(key: str) -> bool:
    """Whether some process runs this conversation's claimed turn (False without Redis)."""
    client = _client()
    if client is None:
        return False
    _, live_key, _ = _names(key)
    loop = asyncio.get_running_loop()
    try:
        return bool(await loop.run_in_executor(_writers, client.exists, live_key))
    except Exception:
        logger.warning("Turn registry unavailable; cannot tell whether a turn runs elsewhere")
        return False


async def request_stop(key: str) -> bool:
    """Ask the process that runs the turn to stop it; False when none runs it."""
    client = _client()
    if client is None or not await live(key):
        return False
    _, _, stop = _names(key)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(_writers, lambda: client.set(stop, "1", ex=settings.CHAT_REPLAY_TTL))
    return True


def release(key: str) -> None:
    """Free the conversation (blocking): a claimed turn that ended before logging `done`."""
    client = _client()
    if client is None:
        return
    _, live_key, stop = _names(key)
    try:
        client.delete(live_key, stop)
    except Exception:
        logger.warning("Turn registry unavailable; the claim expires on its own")


class ReplayLog:
    """A claimed turn's event log, written in order by one batch at a time."""

    def __init__(self, key: str, client, on_stop: Callable[[], object]):
        self.events, self.live, self.stop = _names(key)
        self.client = client
        self.on_stop = on_stop
        self.pending: list[TurnEvent] = []
        self.writer: asyncio.Task | None = None
        self.broken = False

    def append(self, event: TurnEvent) -> None:
        """Queue the event; the writer sends every queued event in one round trip."""
        if self.broken:
            return
        self.pending.append(event)
        if self.writer is None or self.writer.done():
            self.writer = asyncio.create_task(self._drain())

    async def close(self) -> None:
        """Wait until every queued event is written (the turn's `done` last), then let go of
        the turn: `on_stop` is its method and the writer's task ran in its context, and the
        turn holds this log, so keeping either would leave a cycle only the collector frees."""
        try:
            while self.writer is not None and not self.writer.done():
                await asyncio.shield(self.writer)
        finally:
            self.on_stop = _nothing
            self.writer = None

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self.pending and not self.broken:
            batch, self.pending = self.pending, []
            try:
                stop_asked = await loop.run_in_executor(_writers, self._write, batch)
            except Exception:
                logger.warning("Replay log unavailable; this reply cannot be resumed elsewhere")
                self.broken = True
                return
            if stop_asked:
                self.on_stop()

    def _write(self, batch: list[TurnEvent]) -> bool:
        ttl = settings.CHAT_REPLAY_TTL
        with self.client.pipeline(transaction=False) as pipe:
            for event in batch:
                pipe.xadd(self.events, {"e": to_json(event)})
            pipe.expire(self.events, ttl)
            if batch[-1].kind == DONE:
                pipe.delete(self.live, self.stop)
            else:
                pipe.expire(self.live, ttl)
            pipe.exists(self.stop)
            results = pipe.execute()
        return bool(results[-1])


def _nothing() -> None:
    """A closed log's stop callback: the turn has ended."""


def log_for(key: str, on_stop: Callable[[], object]) -> ReplayLog | None:
    """The event log of a claimed turn, or None without Redis."""
    client = _client()
    return ReplayLog(key, client, on_stop) if client is not None else None


async def read(key: str) -> AsyncIterator[TurnEvent]:
    """The turn's events from the first, then live ones until `done` (or until the log
    expires: a process that died mid-turn leaves a log that ends without `done`)."""
    client = _client()
    if client is None:
        return
    events, live_key, _ = _names(key)
    loop = asyncio.get_running_loop()
    last = "0-0"
    while True:
        answer = await loop.run_in_executor(
            _readers, partial(client.xread, {events: last}, block=BLOCK_MS, count=500)
        )
        if not answer:
            if not await loop.run_in_executor(_readers, client.exists, live_key):
                return
            continue
        for entry_id, fields in answer[0][1]:
            last = entry_id
            event = from_json(fields[b"e"])
            yield event
            if event.kind == DONE:
                return
