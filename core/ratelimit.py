"""Fixed-window counters in the shared cache (Redis in production): every limit of the server.

A window is `seconds` long and aligned to the epoch; its counter lives under a key naming the
window. With Redis a count is one round trip: a short Lua script runs `INCRBY` and, on the
window's first count, `EXPIRE`, atomically on the server (no other client runs between the two,
so a counter never lives on without its expiry), on the process's shared connection pool
(core.redis_pool). Any other cache (the embedded mode's local memory) creates the key with `add`
and bumps it with `incr`. Either way concurrent requests on any number of processes never lose
a count and never pass more than the limit. When the cache is down the count fails open (the
request is allowed and a warning logged): a limit must not take the whole API down with Redis.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.cache import cache

from core import metrics, redis_pool
from core.errors import DomainError, ErrorCode

if TYPE_CHECKING:
    from redis.commands.core import Script

logger = logging.getLogger("core.ratelimit")

_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def clock() -> float:
    """Now, in Unix seconds: the time every window here is counted in. Tests replace this
    function (a fixture sets `core.ratelimit.clock`) to hold the windows still, or move them
    on, instead of waiting on the wall clock."""
    return time.time()


@dataclass(frozen=True)
class Rate:
    limit: int
    seconds: int

    @classmethod
    def parse(cls, text: str | None) -> Rate | None:
        """ "20/min", "1200/minute", "100/hour", "10/15min"; None or "" is no limit."""
        if not text:
            return None
        number, _, period = text.partition("/")
        digits = "".join(ch for ch in period if ch.isdigit())
        unit = period[len(digits) :].strip().lower()
        unit = {"second": "s", "minute": "min", "hours": "hour", "days": "day"}.get(unit, unit)
        if unit not in _UNITS:
            raise ValueError(f"Unknown rate period in {text!r}")
        return cls(limit=int(number), seconds=int(digits or 1) * _UNITS[unit])


@dataclass(frozen=True)
class Count:
    """One counted event: where the caller stands in the current window."""

    limit: int
    count: int
    reset: int  # Unix seconds when the window ends

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)

    def retry_after(self, now: float | None = None) -> int:
        return max(1, math.ceil(self.reset - (clock() if now is None else now)))


# KEYS[1] the counter, ARGV[1] the amount, ARGV[2] its lifetime in seconds. The expiry is set
# when this count created the key, or when a key somehow has none, so no counter outlives its
# window by more than the lifetime.
_COUNT_SCRIPT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if count == tonumber(ARGV[1]) or redis.call('TTL', KEYS[1]) == -1 then
    redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return count
"""

_counter: tuple[redis_pool.CacheRedis, Script] | None = None


def _redis_counter() -> tuple[redis_pool.CacheRedis, Script] | None:
    """The cache's Redis client and the counting script registered on it (None: not Redis)."""
    global _counter
    shared = redis_pool.cache_redis()
    if shared is None:
        return None
    held = _counter
    if held is None or held[0] is not shared:
        held = _counter = (shared, shared.client.register_script(_COUNT_SCRIPT))
    return held


def _count_in_cache(key: str, amount: int, timeout: int) -> int:
    for _ in range(3):
        cache.add(key, 0, timeout=timeout)
        try:
            return cache.incr(key, amount)
        except ValueError:
            # The key vanished between add and incr (evicted or expired): add it again.
            continue
    return 0


def hit(scope: str, ident: str, rate: Rate, *, amount: int = 1) -> Count:
    """Count one event of `ident` in `scope` under `rate`."""
    now = clock()
    start = int(now // rate.seconds) * rate.seconds
    key = f"rl:{scope}:{ident}:{start}"
    count = 0
    try:
        counter = _redis_counter()
        if counter is None:
            count = _count_in_cache(key, amount, rate.seconds + 60)
        else:
            shared, script = counter
            count = int(script(keys=[shared.make_key(key)], args=[amount, rate.seconds + 60]))
    except Exception as exc:
        logger.warning("Rate counter unavailable (%s); allowing %s %s", exc, scope, ident)
        count = 0
    if count > rate.limit:
        metrics.rate_limited(scope)
    return Count(limit=rate.limit, count=count, reset=start + rate.seconds)


def peek(scope: str, ident: str, rate: Rate) -> Count:
    """Where `ident` stands without counting (fails open like `hit`)."""
    now = clock()
    start = int(now // rate.seconds) * rate.seconds
    try:
        count = int(cache.get(f"rl:{scope}:{ident}:{start}") or 0)
    except Exception as exc:
        logger.warning("Rate counter unavailable (%s)", exc)
        count = 0
    return Count(limit=rate.limit, count=count, reset=start + rate.seconds)


def forget(scope: str, ident: str, rate: Rate) -> None:
    """Clear the current window of `ident` (e.g. a successful login clears its failures)."""
    now = clock()
    start = int(now // rate.seconds) * rate.seconds
    try:
        cache.delete(f"rl:{scope}:{ident}:{start}")
    except Exception as exc:
        logger.warning("Rate counter unavailable (%s)", exc)


def unhit(scope: str, ident: str, rate: Rate, counted: Count, *, amount: int = 1) -> None:
    """Take back `amount` from the window `counted` came from: a count reserved before the
    event was known (a login attempt counted before its password is checked) that turned out
    not to be one. A window already gone has nothing to take back."""
    key = f"rl:{scope}:{ident}:{counted.reset - rate.seconds}"
    try:
        cache.decr(key, amount)
    except ValueError:
        pass
    except Exception as exc:
        logger.warning("Rate counter unavailable (%s)", exc)


def forget_window(scope: str, ident: str, rate: Rate, counted: Count) -> None:
    """Clear the window `counted` came from (which `forget` would miss had it just ended)."""
    try:
        cache.delete(f"rl:{scope}:{ident}:{counted.reset - rate.seconds}")
    except Exception as exc:
        logger.warning("Rate counter unavailable (%s)", exc)


class RateLimited(DomainError):
    """Too many of something in a window; the client retries after `retry_after` seconds."""

    code = ErrorCode.RATE_LIMITED

    def __init__(self, message: str, *, retry_after: int, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


def client_address(meta: dict, trusted_proxies: int) -> str:
    """The caller's address: the socket peer (REMOTE_ADDR), or, behind `trusted_proxies`
    proxies, the address the outermost trusted proxy saw (that many entries from the right of
    X-Forwarded-For). A client cannot forge it by sending its own X-Forwarded-For."""
    remote = meta.get("REMOTE_ADDR", "") or "unknown"
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if trusted_proxies > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(trusted_proxies, len(hops))]
    return remote
