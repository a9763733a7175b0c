"""A claimed turn's life in Redis, so that any server process can find, resume or stop it.

With `REDIS_URL` set, a claimed turn has three keys under `CHAT_REPLAY_PREFIX:<key>`:
"live" (taken with `SET NX` by `claim`, so one process runs the conversation's turn), "events"
(a Redis stream of the turn's typed events, `ai.events.to_json`) and "stop" (another process
asks this one to stop the turn; it is read in the same round trip as each write of events,
so a stop lands at the model's next piece). The log pushes the keys' expiry
(`CHAT_REPLAY_TTL`) back as it writes, at most every tenth of it. A resumed stream on another
process reads the stream from its first entry and then blocks for new ones until the turn's
`done` event.

Every command goes through the process's one Redis pool (`core.redis_pool`, the cache's),
which also serves the cache, the rate counters and the lockout. That client is synchronous,
so the logs' writes run in a small thread pool of their own, and the blocking reads of
resumed streams in another, so neither can starve the other nor the event loop's default
executor. One writer per process takes the events of every turn that are ready together and
sends them in one pipeline, one round at a time.

Redis being down never fails a turn: the log stops writing (resume and stop from other
processes degrade; the reply is still streamed and stored).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
import weakref
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
    """A claimed turn's event log. Its events go out in order, with every other log's events
    that are ready at the same moment: one pipeline and one thread hop for all the process's
    streams (`_Writer`)."""

    def __init__(self, key: str, client, on_stop: Callable[[], object]):
        self.events, self.live, self.stop = _names(key)
        self.client = client
        self.on_stop = on_stop
        self.pending: list[TurnEvent] = []
        self.writing = False  # a batch of this log's is in the writer's hands
        self.idle: list[asyncio.Future] = []  # close() waits on these
        self.refreshed = None  # when the keys' expiry was last pushed back (monotonic)
        self.broken = False

    def append(self, event: TurnEvent) -> None:
        """Queue the event for the process's writer."""
        if self.broken:
            return
        self.pending.append(event)
        _writer().add(self)

    async def close(self) -> None:
        """Wait until every queued event is written (the turn's `done` last), then let go of
        the turn: `on_stop` is its method, and the turn holds this log."""
        try:
            while (self.pending or self.writing) and not self.broken:
                waiter = asyncio.get_running_loop().create_future()
                self.idle.append(waiter)
                await waiter
        finally:
            self.on_stop = _nothing

    def _take(self, now: float) -> tuple[list[TurnEvent], bool]:
        """This log's events for the next pipeline, and whether it pushes the expiry back
        (the first write, then at most every tenth of the TTL: the keys outlive a process
        that dies mid-turn by at most the TTL, and a token costs one `XADD` and the stop
        check rather than four commands)."""
        batch, self.pending = self.pending, []
        self.writing = True
        refresh = self.refreshed is None or now - self.refreshed >= settings.CHAT_REPLAY_TTL / 10
        if refresh:
            self.refreshed = now
        return batch, refresh

    def _written(self, stop_asked: bool) -> None:
        self.writing = False
        if stop_asked:
            self.on_stop()
        if not self.pending or self.broken:
            waiters, self.idle = self.idle, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)


class _Writer:
    """The process's one writer of replay logs (one per event loop): the logs with events
    queued when it starts a round go out together, in one pipeline on the writers' thread
    pool; what is queued meanwhile goes in the next round. Two hundred streams at ten tokens
    a second each took a pipeline and a thread hop per token: 2,000 a second, which held the
    interpreter long enough to delay the streams' own tokens (bench/README.md, "The production
    shape at 200 streams, and a quiet host")."""

    def __init__(self) -> None:
        self.ready: dict[ReplayLog, None] = {}
        self.task: asyncio.Task | None = None

    def add(self, log: ReplayLog) -> None:
        self.ready[log] = None
        if self.task is None:
            # A context of its own: the task must not keep the first caller's turn alive.
            self.task = asyncio.get_running_loop().create_task(
                self._drain(), context=contextvars.Context()
            )

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.ready:
                logs = list(self.ready)
                self.ready.clear()
                now = time.monotonic()
                round_ = [(log, *log._take(now)) for log in logs]
                try:
                    stops = await loop.run_in_executor(_writers, _write, round_)
                except Exception:
                    logger.warning("Replay log unavailable; this reply cannot be resumed elsewhere")
                    for log, _, _ in round_:
                        log.broken = True
                        log.pending = []
                    stops = [False] * len(round_)
                for (log, _, _), stop_asked in zip(round_, stops, strict=True):
                    log._written(stop_asked)
                round_.clear()
        finally:
            self.task = None


_writer_of_loop: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _writer() -> _Writer:
    loop = asyncio.get_running_loop()
    writer = _writer_of_loop.get(loop)
    if writer is None:
        writer = _writer_of_loop[loop] = _Writer()
    return writer


def _write(round_: list[tuple[ReplayLog, list[TurnEvent], bool]]) -> list[bool]:
    """One pipeline for the round (every log's client is the process's one Redis): each log's
    events, its expiry pushed back when due, the conversation freed after `done`, and whether
    another process asked to stop it."""
    ttl = settings.CHAT_REPLAY_TTL
    asked: list[int] = []  # where each log's stop check answers
    commands = 0
    with round_[0][0].client.pipeline(transaction=False) as pipe:
        for log, batch, refresh in round_:
            for event in batch:
                pipe.xadd(log.events, {"e": to_json(event)})
            commands += len(batch)
            if refresh:
                pipe.expire(log.events, ttl)
                commands += 1
            if batch and batch[-1].kind == DONE:
                pipe.delete(log.live, log.stop)
                commands += 1
            elif refresh:
                pipe.expire(log.live, ttl)
                commands += 1
            pipe.exists(log.stop)
            asked.append(commands)
            commands += 1
        results = pipe.execute()
    return [bool(results[index]) for index in asked]


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
