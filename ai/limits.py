"""The limits every model call passes, turns and one-shot calls alike.

Model calls cost money and hold an upstream connection, so two limits come on top of the
request limits, for REST, sockets and background work alike:

- the process's cap, `AI_TURNS_MAX_CONCURRENT`: turns and one-shot calls (scenario, opening
  line, image, embeddings, analysis) running at once; past it, `TurnsBusy` (503 BUSY with
  Retry-After in every family);
- the caller's rate, `AI_TURN_RATE` (a user, else an address; none for background work):
  past it, `RateLimited` (429 with Retry-After in every family).

A model call made inside a turn (family C's state extraction, family M's choices) is part of
that turn: it was admitted with the turn and is not counted again.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

from django.conf import settings

from core import metrics
from core.errors import Busy
from core.ratelimit import Rate, RateLimited, hit

# Set in a turn's own task (and the threads it hands work to): calls there are the turn's.
inside_turn: ContextVar[bool] = ContextVar("ai_inside_turn", default=False)

# Model work in flight in this process. One-shot calls may run in worker threads with event
# loops of their own (background analysis), hence the lock.
_lock = threading.Lock()
_in_flight = 0


class TurnsBusy(Busy):
    """Too many model calls are running in this process; the caller should retry shortly."""


def in_flight() -> int:
    """Turns and one-shot calls running in this process."""
    return _in_flight


def check_capacity() -> None:
    """Refuse (TurnsBusy) when the process already runs AI_TURNS_MAX_CONCURRENT calls."""
    if _in_flight >= settings.AI_TURNS_MAX_CONCURRENT:
        metrics.turn_refused("busy")
        raise TurnsBusy(
            "The server is busy with other AI replies; please retry in a moment", retry_after=2
        )


def check_rate(caller: str | None) -> None:
    """Count one call against `caller`'s AI_TURN_RATE; RateLimited past it."""
    rate = Rate.parse(settings.AI_TURN_RATE)
    if not caller or rate is None:
        return
    counted = hit("ai-turn", caller, rate)
    if not counted.allowed:
        metrics.turn_refused("rate_limited")
        wait = counted.retry_after()
        raise RateLimited(f"Too many AI replies; retry in {wait} seconds", retry_after=wait)


def acquire() -> None:
    """Take one place under the cap (after the checks passed)."""
    global _in_flight
    with _lock:
        _in_flight += 1


def release() -> None:
    """Give the place back."""
    global _in_flight
    with _lock:
        _in_flight -= 1


@asynccontextmanager
async def model_call(caller: str | None = None) -> AsyncIterator[None]:
    """Hold a place under the cap for one call, counted against `caller`'s rate; inside a
    turn, nothing (the turn holds the place)."""
    if inside_turn.get():
        yield
        return
    check_capacity()
    check_rate(caller)
    acquire()
    try:
        yield
    finally:
        release()
