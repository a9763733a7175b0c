"""Password guessing is stopped per account and per address, for every login form.

`LockoutBackend` wraps Django's ModelBackend, so the API login (`POST /api/auth/login`) and
the Django admin's login form go through the same rule: after LOGIN_FAILURES_PER_ACCOUNT
failed passwords for one e-mail within the window, or LOGIN_FAILURES_PER_ADDRESS from one
address, every further attempt fails like a wrong password, the right password included, until
the window ends. A guesser with many addresses is stopped by the account's count; a guesser
trying many accounts from one address by the address's count. A success clears the account's
failures. The counts live in the shared cache (core.ratelimit), so every process shares them.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from core.ratelimit import Rate, client_address, forget, hit, peek

logger = logging.getLogger("accounts.lockout")

ACCOUNT_SCOPE = "login-fail-account"
ADDRESS_SCOPE = "login-fail-address"


def _account(username: str | None) -> str:
    """The counter name of an e-mail (hashed: keys never hold an address in clear)."""
    normalised = (username or "").strip().lower()
    return hashlib.sha256(normalised.encode()).hexdigest()[:32]


def _rates() -> tuple[Rate | None, Rate | None]:
    return (
        Rate.parse(settings.LOGIN_FAILURES_PER_ACCOUNT),
        Rate.parse(settings.LOGIN_FAILURES_PER_ADDRESS),
    )


def _address(request) -> str | None:
    meta = getattr(request, "META", None)
    return client_address(meta, settings.TRUSTED_PROXY_COUNT) if meta is not None else None


def locked_out(username: str | None, request=None) -> bool:
    """Whether the account, or the caller's address, has used up its failures."""
    account_rate, address_rate = _rates()
    if account_rate and peek(ACCOUNT_SCOPE, _account(username), account_rate).count >= (
        account_rate.limit
    ):
        return True
    address = _address(request)
    return bool(
        address
        and address_rate
        and peek(ADDRESS_SCOPE, address, address_rate).count >= address_rate.limit
    )


def failure_record(username: str | None, request=None) -> None:
    account_rate, address_rate = _rates()
    if account_rate:
        hit(ACCOUNT_SCOPE, _account(username), account_rate)
    address = _address(request)
    if address and address_rate:
        hit(ADDRESS_SCOPE, address, address_rate)


def success_record(username: str | None) -> None:
    account_rate, _ = _rates()
    if account_rate:
        forget(ACCOUNT_SCOPE, _account(username), account_rate)


class LockoutBackend(ModelBackend):
    """ModelBackend behind the lockout rule (see the module docstring)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get("email")
        if locked_out(username, request):
            logger.warning("Login refused: too many failures")
            # PermissionDenied stops Django's backend loop: the caller sees a failed login.
            raise PermissionDenied("locked out")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            failure_record(username, request)
        else:
            success_record(username)
        return user
