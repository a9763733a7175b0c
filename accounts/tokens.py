"""JWT classes of the login families (accounts.services has the rotation rule).

Every refresh token and the access tokens made from it carry a `family` claim: the id of the
login (accounts.models.TokenFamily) whose chain of rotated refresh tokens it belongs to. When
that login ends (logout, or a rotated-out refresh token coming back) the family is revoked in
the database, which stops its refresh tokens for good, and named in the shared cache for as
long as an access token lives, which stops its access tokens within a cache read: no database
query per request. Should the cache lose the name (eviction, a flush, an outage: it fails open
like every limit), those access tokens work until they expire, at most ACCESS_TOKEN_LIFETIME
(JWT_ACCESS_MINUTES) after the family's last refresh; refresh tokens never come back.
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from rest_framework_simplejwt import settings as jwt_settings
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken, Token

logger = logging.getLogger("accounts.tokens")

FAMILY_CLAIM = "family"
_REVOKED_PREFIX = "jwt-family-revoked"


def family_mark_revoked(family_id: str) -> None:
    """Name a revoked family in the cache for as long as its access tokens can live."""
    timeout = int(jwt_settings.api_settings.ACCESS_TOKEN_LIFETIME.total_seconds()) + 60
    try:
        cache.set(f"{_REVOKED_PREFIX}:{family_id}", 1, timeout=timeout)
    except Exception as exc:
        logger.warning("Token revocation not shared (%s): access tokens run out alone", exc)


def family_is_marked_revoked(family_id: str) -> bool:
    try:
        return bool(cache.get(f"{_REVOKED_PREFIX}:{family_id}"))
    except Exception as exc:
        logger.warning("Token revocation unknown (%s)", exc)
        return False


class LoginAccessToken(AccessToken):
    """simplejwt's access token (SIMPLE_JWT["AUTH_TOKEN_CLASSES"]), refused once its login
    has ended."""

    def verify(self) -> None:
        super().verify()
        family = self.get(FAMILY_CLAIM)
        if family and family_is_marked_revoked(str(family)):
            raise TokenError("Token revoked: its login has ended")


class RefreshClaims(Token):
    """A refresh token checked for signature, expiry and type, but not against the
    blacklist: a rotated-out token must still be read to tell a reuse from a forgery."""

    token_type = "refresh"
    lifetime = jwt_settings.api_settings.REFRESH_TOKEN_LIFETIME
