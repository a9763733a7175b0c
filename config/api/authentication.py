"""Bearer JWT authentication shared by every family."""

from __future__ import annotations

from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed

from accounts.services import token_is_current


class BearerJWTAuthentication(JWTAuthentication):
    """simplejwt's Bearer check: no header means anonymous, a bad token means 401, and so
    does a token issued before the user's password last changed."""

    www_authenticate_realm = "api"

    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        if not token_is_current(user=user, token=validated_token):
            raise AuthenticationFailed("Token revoked: the password has changed", code="revoked")
        return user
