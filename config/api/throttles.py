"""Request-rate limits counted in the shared cache (Redis in production)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class FamilyRateThrottle(SimpleRateThrottle):
    """Limit per authenticated user, else per client address; rate from THROTTLE_RATES[scope].

    The rate is read from settings on each request (not at import), so deployments and tests
    can change it without reloading code.
    """

    scope = "game"

    def get_rate(self):
        return settings.THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        user = getattr(request, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            ident = f"user-{user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class GameRateThrottle(FamilyRateThrottle):
    scope = "game"


class AssistantRateThrottle(FamilyRateThrottle):
    scope = "assistant"


class LoginRateThrottle(FamilyRateThrottle):
    """Slow down password guessing: per client address, whoever the caller claims to be."""

    scope = "auth_login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
