"""Concurrent socket connections per user, counted across server processes.

A user of a tier with a limit of N has N slots, keys `movie-ws:<user>:<i>` in the shared cache
(Redis in production, so every process sees them). A connection claims the first free slot
with an atomic add (SET NX), keeps it alive with a heartbeat, and frees it when it closes. A
slot expires `MOVIE_WS_SLOT_SECONDS` after its last heartbeat, so the slots of a process that
crashed come free on their own instead of locking the user out for ever; a counter with
increments and decrements could not recover from a lost decrement.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

KEY = "movie-ws:{user}:{slot}"


def limit_for(tier: str) -> int | None:
    """The tier's concurrent connection limit; None means unlimited."""
    limits = settings.MOVIE_WS_MAX_CONNECTIONS
    return limits.get(tier, limits.get("free"))


class ConnectionSlot:
    """One connection's claim on a slot (no claim at all for an unlimited tier)."""

    def __init__(self, *, user_pk: int, tier: str, owner: str):
        self.user_pk = user_pk
        self.limit = limit_for(tier)
        self.owner = owner
        self.key: str | None = None

    @property
    def ttl(self) -> int:
        return settings.MOVIE_WS_SLOT_SECONDS

    @property
    def heartbeat_seconds(self) -> float:
        return self.ttl / 3

    async def claim(self) -> bool:
        """Take a free slot; False when all of the user's slots are taken."""
        if self.limit is None:
            return True
        for slot in range(self.limit):
            key = KEY.format(user=self.user_pk, slot=slot)
            if await cache.aadd(key, self.owner, timeout=self.ttl):
                self.key = key
                return True
        return False

    async def refresh(self) -> None:
        """Keep the slot alive; if it expired meanwhile (a long stall), take one again."""
        if self.limit is None or self.key is None:
            return
        if await cache.aget(self.key) == self.owner:
            await cache.atouch(self.key, self.ttl)
        elif not await cache.aadd(self.key, self.owner, timeout=self.ttl):
            self.key = None
            await self.claim()

    async def release(self) -> None:
        if self.key is not None and await cache.aget(self.key) == self.owner:
            await cache.adelete(self.key)
        self.key = None
