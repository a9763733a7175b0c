"""Bearer JWT authentication shared by every family."""

from __future__ import annotations

from rest_framework_simplejwt.authentication import JWTAuthentication


class BearerJWTAuthentication(JWTAuthentication):
    """simplejwt's Bearer check: no header means anonymous, a bad token means 401."""

    www_authenticate_realm = "api"
