"""Request-rate limits counted in the shared cache (Redis in production)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from core import ratelimit
from core.ratelimit import Rate, hit
from core.ratelimit import client_address as core_client_address


class FamilyRateThrottle(BaseThrottle):
    """Limit per authenticated user, else per client address; rate from THROTTLE_RATES[scope].

    Counted atomically in the shared cache (core.ratelimit: Redis INCR in production), so a
    burst across processes passes exactly the limit. The rate is read from settings on each
    request, so deployments and tests can change it without reloading code.
    """

    scope = "game"

    def allow_request(self, request, view) -> bool:
        rate = Rate.parse(settings.THROTTLE_RATES.get(self.scope))
        if rate is None:
            return True
        self.count = hit(self.scope, self.ident(request), rate)
        return self.count.allowed

    def ident(self, request) -> str:
        user = getattr(request, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            return f"user-{user.pk}"
        return f"addr-{client_address(request)}"

    def wait(self) -> float:
        return float(self.count.retry_after())


def caller_ident(request) -> str:
    """Who a request counts against: the authenticated user, else the client address."""
    return FamilyRateThrottle().ident(request)


class GameRateThrottle(FamilyRateThrottle):
    scope = "game"


class AssistantRateThrottle(FamilyRateThrottle):
    scope = "assistant"


class LoginRateThrottle(FamilyRateThrottle):
    """Slow down password guessing: per client address, whoever the caller claims to be (the
    per-account limit is accounts.lockout's, which answers like a wrong password)."""

    scope = "auth_login"

    def ident(self, request) -> str:
        return f"addr-{client_address(request)}"


# --- Family M: per-tier hourly limits -------------------------------------------------------

ANONYMOUS_TIER = "anonymous"
# Kept in the request's META (shared by the DRF and the Django request, see request_id).
META_RATE_STATE = "aistory.movie_rate_state"


@dataclass(frozen=True)
class RateState:
    """One counted request: the numbers the X-RateLimit-* headers report."""

    limit: int
    count: int
    reset: int  # Unix seconds when the window ends
    tier: str

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit

    def retry_after(self, now: float | None = None) -> int:
        return max(1, math.ceil(self.reset - (ratelimit.clock() if now is None else now)))

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
            "X-RateLimit-Tier": self.tier,
        }


def client_address(request) -> str:
    """The caller's address (core.ratelimit.client_address with TRUSTED_PROXY_COUNT)."""
    return core_client_address(request.META, settings.TRUSTED_PROXY_COUNT)


def _caller(request) -> tuple[str, str]:
    """(counter identity, tier) of the caller: the user when authenticated, else the address.

    In a view `request` is DRF's and the throttle runs after `perform_authentication`, so
    `request.user` is already resolved (anonymous when the token was refused) and reading it
    costs nothing. Outside a view the middleware leaves the Bearer token's user in
    `_movie_user` on the Django request. Django's own `request.user` (the admin's session) is
    never used.
    """
    in_view = isinstance(request, Request)
    user = request.user if in_view else getattr(request, "_movie_user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user-{user.pk}", getattr(user, "tier", "free") or "free"
    return f"addr-{client_address(request)}", ANONYMOUS_TIER


def movie_rate_limit(tier: str) -> int:
    limits = settings.MOVIE_RATE_LIMITS
    return int(limits.get(tier, limits["free"]))


def movie_rate_count(request) -> RateState:
    """Count this request in the caller's fixed window, once per request, atomically.

    The window is MOVIE_RATE_WINDOW seconds aligned to the epoch, counted by core.ratelimit
    (an atomic INCR in the shared cache, so concurrent requests on any number of processes
    never lose a count). The state is kept on the request, so the middleware and the view
    count it once.
    """
    state = request.META.get(META_RATE_STATE)
    if state is not None:
        return state
    ident, tier = _caller(request)
    counted = hit("m", ident, Rate(movie_rate_limit(tier), settings.MOVIE_RATE_WINDOW))
    state = RateState(limit=counted.limit, count=counted.count, reset=counted.reset, tier=tier)
    request.META[META_RATE_STATE] = state
    return state


def movie_rate_state(request) -> RateState | None:
    return request.META.get(META_RATE_STATE)


class MovieTierThrottle(BaseThrottle):
    """Family M: MOVIE_RATE_LIMITS[tier] requests per MOVIE_RATE_WINDOW per user (free 100,
    pro 1,000, enterprise 10,000 an hour); callers without a token are counted per client
    address at the `anonymous` limit. Every request counts, refused ones included."""

    def allow_request(self, request, view) -> bool:
        self.state = movie_rate_count(request)
        return self.state.allowed

    def wait(self) -> float:
        return float(self.state.retry_after())
