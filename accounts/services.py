"""Writers for users and tokens."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import authenticate
from django.db import transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.errors import InvalidCredentials
from accounts.models import User


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


CREDENTIALS_CLAIM = "cred"


def credentials_stamp(user: User) -> str:
    """A short HMAC of the user's password hash (Django's session auth hash): tokens carry
    it, so changing the password, by any path (admin, changepassword, a reset), revokes every
    token issued before, access tokens included, with no row to keep per token."""
    return user.get_session_auth_hash()[:20]


def tokens_for_user(*, user: User) -> TokenPair:
    refresh = RefreshToken.for_user(user)
    refresh[CREDENTIALS_CLAIM] = credentials_stamp(user)
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def token_is_current(*, user: User, token) -> bool:
    """Whether `token` was issued since the user's password last changed."""
    return token.get(CREDENTIALS_CLAIM) == credentials_stamp(user)


def user_login(*, email: str, password: str, request=None) -> tuple[User, TokenPair]:
    """Check credentials and issue a JWT pair; one message for every failure, by design (a
    locked-out account, accounts.lockout, fails the same way). `request` gives the lockout
    the caller's address."""
    user = authenticate(request, username=email.strip().lower(), password=password)
    if user is None or not user.is_active:
        raise InvalidCredentials("Invalid e-mail or password")
    return user, tokens_for_user(user=user)


def token_refresh(*, refresh: str) -> TokenPair:
    """Exchange a refresh token for a new pair; the used refresh token is blacklisted, so it
    works once (a replayed or stolen copy is refused, even by two requests racing)."""
    invalid = InvalidCredentials("Invalid or expired refresh token")
    try:
        token = RefreshToken(refresh)
        user_id = token["user_id"]
        jti = token["jti"]
    except (TokenError, KeyError) as exc:
        raise invalid from exc
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not token_is_current(user=user, token=token):
        raise invalid
    with transaction.atomic():
        # order_by(): the model orders by its nullable user, and PostgreSQL refuses FOR UPDATE
        # on the outer join that ordering makes.
        outstanding = (
            OutstandingToken.objects.select_for_update(of=("self",))
            .filter(jti=jti)
            .order_by()
            .first()
        )
        if outstanding is None:
            raise invalid
        _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
        if not created:
            raise invalid
        return tokens_for_user(user=user)


def token_revoke(*, refresh: str) -> None:
    """Log out: blacklist the refresh token (access tokens expire on their own, within
    JWT_ACCESS_MINUTES). Revoking a token twice, or one already unusable, is fine."""
    try:
        token = RefreshToken(refresh)
    except TokenError:
        return
    outstanding = OutstandingToken.objects.filter(jti=token["jti"]).first()
    if outstanding is not None:
        BlacklistedToken.objects.get_or_create(token=outstanding)
