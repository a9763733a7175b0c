"""A turn's events in Redis, so that any server process can resume or stop a chat's reply.

With `REDIS_URL` set, each event of a chat's turn is appended to a Redis stream (a short
expiry, `CHAT_REPLAY_TTL`), a "live" key marks the turn as running, and a "stop" key asks the
process that runs it to stop (it checks the key in the same round trip as each append, so a
stop lands at the model's next piece). A resumed stream on another process reads the stream
from its first entry and then blocks for new ones until the turn's `done` event. Without
Redis (the embedded mode) there is one process, and turns are found in the engine's registry.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import AsyncIterator

from django.conf import settings

from ai.engine import DONE, TurnEvent

BLOCK_MS = 15_000
logger = logging.getLogger("ai.replay")


def _redis():
    """One asyncio Redis client per event loop (pooled connections belong to their loop)."""
    import redis.asyncio as redis

    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = redis.Redis.from_url(settings.REDIS_URL)
        _clients[loop] = client
    return client


_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _names(key: str) -> tuple[str, str, str]:
    base = f"{settings.CHAT_REPLAY_PREFIX}:{key}"
    return f"{base}:events", f"{base}:live", f"{base}:stop"


def event_json(event: TurnEvent) -> str:
    """An event as JSON (a stored message by its client id)."""
    data = dict(event.data)
    message = data.get("message")
    if message is not None:
        data["message"] = {"id": getattr(message, "client_id", None)}
    return json.dumps({"kind": event.kind, "data": data}, ensure_ascii=False, default=str)


class ReplayLog:
    """A turn's log. Redis being down never fails the turn: the log stops writing (resume
    and stop from other processes degrade; the reply is still streamed and stored)."""

    def __init__(self, key: str):
        self.events, self.live, self.stop = _names(key)
        self.broken = False

    async def begin(self) -> None:
        ttl = settings.CHAT_REPLAY_TTL
        try:
            async with _redis().pipeline(transaction=True) as pipe:
                pipe.delete(self.events, self.stop)
                pipe.set(self.live, "1", ex=ttl)
                await pipe.execute()
        except Exception:
            logger.warning("Replay log unavailable; this reply cannot be resumed elsewhere")
            self.broken = True

    async def append(self, event: TurnEvent) -> bool:
        """Append the event; True when another process asked this turn to stop."""
        if self.broken:
            return False
        try:
            return await self._append(event)
        except Exception:
            logger.warning("Replay log unavailable; this reply cannot be resumed elsewhere")
            self.broken = True
            return False

    async def _append(self, event: TurnEvent) -> bool:
        ttl = settings.CHAT_REPLAY_TTL
        async with _redis().pipeline(transaction=False) as pipe:
            pipe.xadd(self.events, {"e": event_json(event)})
            pipe.expire(self.events, ttl)
            if event.kind == DONE:
                pipe.delete(self.live, self.stop)
            else:
                pipe.expire(self.live, ttl)
            pipe.exists(self.stop)
            results = await pipe.execute()
        return bool(results[-1])


def log_for(key: str) -> ReplayLog | None:
    """The replay log of a turn, or None without Redis."""
    return ReplayLog(key) if settings.REDIS_URL else None


async def in_flight_elsewhere(key: str) -> bool:
    """Whether some process runs this turn (always False without Redis)."""
    if not settings.REDIS_URL:
        return False
    _, live, _ = _names(key)
    try:
        return bool(await _redis().exists(live))
    except Exception:
        logger.warning("Replay log unavailable; cannot tell whether a reply runs elsewhere")
        return False


async def request_stop(key: str) -> bool:
    """Ask the process that runs the turn to stop it; False when none runs it."""
    if not await in_flight_elsewhere(key):
        return False
    _, _, stop = _names(key)
    await _redis().set(stop, "1", ex=settings.CHAT_REPLAY_TTL)
    return True


async def read(key: str) -> AsyncIterator[TurnEvent]:
    """The turn's events from the first, then live ones until `done` (or until the log
    expires: a process that died mid-turn leaves a log that ends without `done`)."""
    events, live, _ = _names(key)
    client = _redis()
    last = "0-0"
    while True:
        answer = await client.xread({events: last}, block=BLOCK_MS, count=500)
        if not answer:
            if not await client.exists(live):
                return
            continue
        for entry_id, fields in answer[0][1]:
            last = entry_id
            item = json.loads(fields[b"e"])
            event = TurnEvent(item["kind"], item["data"])
            yield event
            if event.kind == DONE:
                return
