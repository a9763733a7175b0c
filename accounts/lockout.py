"""Password guessing is stopped per account and address together, and slowed per account and
per address, without letting anyone lock an owner out of their account.

`LockoutBackend` wraps Django's ModelBackend, so the API login (`POST /api/auth/login`), the
Django admin's login form and any `aauthenticate` caller go through the same rule. Three
fixed-window counters in the shared cache (core.ratelimit, Redis in production) decide:

- **The pair** (the e-mail tried, normalised: trimmed and lower-cased, and the client
  address): after LOGIN_FAILURES_PER_ACCOUNT_ADDRESS attempts (10 per 15 minutes) that address
  is refused on that account, the right password included, until the window ends. This is the
  lock, as django-axes's combination mode (username and address) locks: a guesser locks only
  its own address out of the account, never the owner elsewhere.
- **The account's ceiling** (LOGIN_FAILURES_PER_ACCOUNT, 100 per 15 minutes, counted over
  every address): past it, a guesser spread over many addresses is stepped down from ten tries
  per address to one. An address that has already failed on the account in this window is
  refused; an address that has not (its first try) is still checked, and so is a *known*
  address, one that has logged into this account in the last LOGIN_KNOWN_ADDRESS_DAYS (30)
  days, typos and all. The owner is never refused by the ceiling for trying: from a known
  address, or from a new one with the right password on the first try.
- **The address's ceiling** (LOGIN_FAILURES_PER_ADDRESS, 50 per 15 minutes, counted over every
  account): past it, one address guessing many accounts is refused on every account it is not
  known to. Behind a proxy that hides its clients (TRUSTED_PROXY_COUNT unset, so every caller
  has the proxy's address), an attacker who passes it cannot lock everyone out: the users who
  have logged in through that address before still can. Set TRUSTED_PROXY_COUNT behind a
  proxy all the same, or all its clients share one pair per account.

**Counted before checked.** An attempt reserves its place in all three counters (an atomic
INCR, shared by every process) before the password is hashed, and is judged on the count it
got: of twenty wrong guesses sent at once against a limit of five, five are checked and
fifteen refused, where checking first and counting after let all twenty through while the
hash ran. Every attempt counts, refused ones included. A success clears the pair's window,
hands back its reservation on the two ceilings (it was not a failure) and records the address
as known to the account. A refused attempt fails exactly like a wrong password (same answer,
no hash computed, so it is faster: the lock itself is no secret to the guesser).

**Why cache counters and not django-axes**: axes checks a stored count before authenticating
and records the failure after, from the `user_login_failed` signal, the order that lets
concurrent guesses through; its default handler writes a database row per failure; and it has
no rule for letting the owner through a ceiling. The counters of core.ratelimit are already
shared across processes and atomic, so reserving first is one INCR per counter. When the cache
is down they fail open, like every limit of the server, and logins are checked unlimited.
Keys hold no e-mail or pair in clear (SHA-256 digests).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.views.decorators.debug import sensitive_variables

from core.ratelimit import Count, Rate, client_address, forget_window, hit, unhit

logger = logging.getLogger("accounts.lockout")

PAIR_SCOPE = "login-pair"
ACCOUNT_SCOPE = "login-account"
ADDRESS_SCOPE = "login-address"
KNOWN_PREFIX = "login-known"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


def account_key(username: str | None) -> str:
    """The counter name of an e-mail: case and surrounding spaces do not make a new account."""
    return _digest((username or "").strip().lower())


def _address(request) -> str | None:
    meta = getattr(request, "META", None)
    return client_address(meta, settings.TRUSTED_PROXY_COUNT) if meta is not None else None


@dataclass(frozen=True)
class Limits:
    pair: Rate | None
    account: Rate | None
    address: Rate | None

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            pair=Rate.parse(settings.LOGIN_FAILURES_PER_ACCOUNT_ADDRESS),
            account=Rate.parse(settings.LOGIN_FAILURES_PER_ACCOUNT),
            address=Rate.parse(settings.LOGIN_FAILURES_PER_ADDRESS),
        )

    @property
    def pair_window(self) -> Rate | None:
        """The pair is counted even with its lock off: the account's ceiling asks whether an
        address has failed on the account before (then in the account's window, unlimited)."""
        if self.pair or not self.account:
            return self.pair
        return Rate(limit=2**62, seconds=self.account.seconds)


@dataclass(frozen=True)
class Attempt:
    """One login attempt, counted: where it stands in each window, and whether it is refused
    (`refused_by` names the counter: "pair", "account" or "address")."""

    limits: Limits
    pair_ident: str
    account: str
    address: str | None
    pair: Count | None
    on_account: Count | None
    from_address: Count | None
    refused_by: str | None = None


def _known_key(pair_ident: str) -> str:
    return f"{KNOWN_PREFIX}:{pair_ident}"


def _known(pair_ident: str) -> bool:
    """Whether this address has logged into this account recently (fails closed: unknown)."""
    try:
        return bool(cache.get(_known_key(pair_ident)))
    except Exception as exc:
        logger.warning("Login memory unavailable (%s)", exc)
        return False


def attempt_begin(username: str | None, request=None) -> Attempt:
    """Count one attempt on every counter, then judge it on the counts it got (before any
    password is hashed; see the module docstring)."""
    limits = Limits.from_settings()
    account = account_key(username)
    address = _address(request)
    pair_ident = _digest(account, address or "")
    pair_rate = limits.pair_window
    pair = hit(PAIR_SCOPE, pair_ident, pair_rate) if pair_rate else None
    on_account = hit(ACCOUNT_SCOPE, account, limits.account) if limits.account else None
    from_address = (
        hit(ADDRESS_SCOPE, address, limits.address) if address and limits.address else None
    )
    attempt = Attempt(limits, pair_ident, account, address, pair, on_account, from_address)

    refused_by = None
    if limits.pair and pair and not pair.allowed:
        refused_by = "pair"
    else:
        failed_here_before = pair is not None and pair.count > 1
        over_account = on_account is not None and not on_account.allowed and failed_here_before
        over_address = from_address is not None and not from_address.allowed
        # Past a ceiling, only the memory of an earlier success lets this attempt through.
        if (over_account or over_address) and not _known(pair_ident):
            refused_by = "account" if over_account else "address"
    return replace(attempt, refused_by=refused_by)


def attempt_succeeded(attempt: Attempt) -> None:
    """The password was right: clear the pair, hand back the ceilings' reservations, and
    remember the address for this account."""
    limits = attempt.limits
    if attempt.pair is not None and limits.pair_window:
        forget_window(PAIR_SCOPE, attempt.pair_ident, limits.pair_window, attempt.pair)
    if attempt.on_account is not None and limits.account:
        unhit(ACCOUNT_SCOPE, attempt.account, limits.account, attempt.on_account)
    if attempt.from_address is not None and limits.address and attempt.address:
        unhit(ADDRESS_SCOPE, attempt.address, limits.address, attempt.from_address)
    try:
        cache.set(
            _known_key(attempt.pair_ident), 1, timeout=settings.LOGIN_KNOWN_ADDRESS_DAYS * 86400
        )
    except Exception as exc:
        logger.warning("Login memory unavailable (%s)", exc)


class LockoutBackend(ModelBackend):
    """ModelBackend behind the lockout rule (see the module docstring)."""

    @sensitive_variables("password")
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None  # not a password login: nothing to count
        attempt = attempt_begin(username, request)
        if attempt.refused_by:
            logger.warning(
                "Login refused from %s: too many failures (%s)",
                attempt.address or "no address",
                attempt.refused_by,
            )
            # PermissionDenied stops Django's backend loop: the caller sees a failed login.
            raise PermissionDenied("locked out")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            attempt_succeeded(attempt)
        return user

    @sensitive_variables("password")
    async def aauthenticate(self, request, username=None, password=None, **kwargs):
        """The same rule for async callers (ModelBackend's own `aauthenticate` would bypass
        `authenticate`, and with it the lockout)."""
        return await sync_to_async(self.authenticate)(
            request, username=username, password=password, **kwargs
        )
