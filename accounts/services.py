"""Writers for users and tokens.

Refresh tokens rotate in families (OAuth 2.1 refresh-token rotation): a login starts a family
(accounts.models.TokenFamily) and each refresh replaces its one usable refresh token. A
rotated-out token coming back means two holders have the chain, the owner and a thief, and the
server cannot tell which is which, so it ends the family: every refresh token descended from
that login stops working, whoever refreshed last, and so do its access tokens (accounts.tokens
says how, and how far that is guaranteed). Two refreshes of one token at once are the same
case: the family's row is locked, one rotates, the other finds the token rotated out and ends
the family, so a client must not refresh the same token twice (one in flight per login).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.errors import InvalidCredentials
from accounts.models import RevokeReason, TokenFamily, User
from accounts.tokens import FAMILY_CLAIM, RefreshClaims, family_mark_revoked

logger = logging.getLogger("accounts.tokens")


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


def tokens_for_user(*, user: User, family: TokenFamily | None = None) -> TokenPair:
    """Issue a pair: for a new login (a new family) or, with `family`, as that family's next
    rotation (the caller holds the family's row lock)."""
    refresh = RefreshToken.for_user(user)
    refresh[CREDENTIALS_CLAIM] = credentials_stamp(user)
    expires_at = dt.datetime.fromtimestamp(refresh["exp"], tz=dt.UTC)
    if family is None:
        # Families whose last refresh token has expired are of no more use: drop them here,
        # where a user's families are created, so the table never grows past the live ones.
        TokenFamily.objects.filter(user=user, expires_at__lt=timezone.now()).delete()
        family = TokenFamily.objects.create(
            user=user, current_jti=refresh["jti"], expires_at=expires_at
        )
    else:
        family.current_jti = refresh["jti"]
        family.expires_at = expires_at
        family.save(update_fields=["current_jti", "expires_at"])
    refresh[FAMILY_CLAIM] = family.pk
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


def _blacklist(jti: str) -> bool:
    """Blacklist one refresh token in simplejwt's blacklist (its admin and any
    `RefreshToken(...)` check then agree); False when it already was."""
    outstanding = OutstandingToken.objects.filter(jti=jti).order_by().first()
    if outstanding is None:
        return False
    _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
    return created


def _family_revoke(family: TokenFamily, *, reason: RevokeReason) -> None:
    """End a login: its refresh tokens in the database (the family, and simplejwt's
    blacklist for its current token: the older ones already are), its access tokens through
    the cache."""
    family.revoked_at = timezone.now()
    family.revoked_reason = reason
    family.save(update_fields=["revoked_at", "revoked_reason"])
    _blacklist(family.current_jti)
    # At once rather than on commit: should the commit fail, refusing the login's access
    # tokens early errs on the safe side.
    family_mark_revoked(family.pk)


def _family_locked(family_id: str) -> TokenFamily | None:
    return TokenFamily.objects.select_for_update().filter(pk=family_id).first()


def token_refresh(*, refresh: str) -> TokenPair:
    """Exchange a refresh token for a new pair, once: the used token is rotated out, and
    using it again ends its whole family (see the module docstring)."""
    invalid = InvalidCredentials("Invalid or expired refresh token")
    try:
        token = RefreshClaims(refresh)
        user_id = token["user_id"]
        jti = token["jti"]
    except (TokenError, KeyError) as exc:
        raise invalid from exc
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not token_is_current(user=user, token=token):
        raise invalid
    family_id = token.get(FAMILY_CLAIM)
    if family_id is None:
        return _legacy_refresh(jti=jti, user=user)
    reused = False
    with transaction.atomic():
        family = _family_locked(str(family_id))
        if family is None or family.user_id != user.pk or family.revoked_at is not None:
            raise invalid
        if family.current_jti != jti:
            reused = True
            _family_revoke(family, reason=RevokeReason.REUSE)
        else:
            _blacklist(jti)
            pair = tokens_for_user(user=user, family=family)
    if reused:
        logger.warning("Refresh token reused: login %s of user %s ended", family_id, user.public_id)
        raise invalid
    return pair


def _legacy_refresh(*, jti: str, user: User) -> TokenPair:
    """A refresh token issued before families existed: it works once (the blacklist decides,
    under a row lock), and its successor starts a family."""
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
            raise InvalidCredentials("Invalid or expired refresh token")
        _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
        if not created:
            raise InvalidCredentials("Invalid or expired refresh token")
        return tokens_for_user(user=user)


def token_revoke(*, refresh: str) -> None:
    """Log out: end the token's login, its refresh tokens and (through the cache) its access
    tokens. Any token of the family ends it; revoking twice, or a token already unusable, is
    fine."""
    try:
        token = RefreshClaims(refresh)
        jti = token["jti"]
    except (TokenError, KeyError):
        return
    family_id = token.get(FAMILY_CLAIM)
    with transaction.atomic():
        if family_id is None:
            _blacklist(jti)
            return
        family = _family_locked(str(family_id))
        if family is not None and family.revoked_at is None:
            _family_revoke(family, reason=RevokeReason.LOGOUT)
