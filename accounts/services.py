"""Writers for users and tokens."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import authenticate
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.errors import InvalidCredentials
from accounts.models import User


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


def tokens_for_user(*, user: User) -> TokenPair:
    refresh = RefreshToken.for_user(user)
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def user_login(*, email: str, password: str) -> tuple[User, TokenPair]:
    """Check credentials and issue a JWT pair; one message for every failure, by design."""
    user = authenticate(username=email.strip().lower(), password=password)
    if user is None or not user.is_active:
        raise InvalidCredentials("Invalid e-mail or password")
    return user, tokens_for_user(user=user)


def token_refresh(*, refresh: str) -> TokenPair:
    """Exchange a refresh token for a new access token (the refresh token stays valid)."""
    try:
        token = RefreshToken(refresh)
        user_id = token["user_id"]
    except (TokenError, KeyError) as exc:
        raise InvalidCredentials("Invalid or expired refresh token") from exc
    if not User.objects.filter(pk=user_id, is_active=True).exists():
        raise InvalidCredentials("Invalid or expired refresh token")
    return TokenPair(access=str(token.access_token), refresh=refresh)
