"""A socket's rights, checked again for as long as it lives.

The JWT middleware checks a token once, at the handshake, and a socket lives far longer. So a
socket opened with a token checks again that its right still stands:
- on a timer: every `WS_RIGHTS_RECHECK_SECONDS` (never longer than an access token lives),
  and at the moment its token expires; each check is one query, run off the event loop;
- on each movie `join-session` (realtime/consumers/movie.py);
- on every frame it receives or sends, for the token's expiry only: a clock read, no query.

The right is gone, and the socket closes with
- 4401 when the token has expired or no longer passes REST's token check (the configured
  token classes: signature, expiry and any revocation they know of), the account was deleted
  or deactivated, or the password changed since the token was issued
  (`accounts.services.token_is_current`: a token carries a stamp of the password hash);
- 4403 when the user no longer may read a movie session the socket joined (removed from the
  project), or no longer owns the game session it follows.
From that moment nothing more reaches the client: frames the handlers still render are
dropped, the close goes out, then the socket leaves its groups. Between two checks a password
change or a removal is not yet known here; the interval bounds that delay.

Anonymous game sockets have no token and can follow only sessions nobody owns: they have no
right to lose and are not watched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from rest_framework_simplejwt import settings as jwt_settings
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from accounts.services import token_is_current
from config.api.authentication import BearerJWTAuthentication

logger = logging.getLogger(__name__)

CLOSE_AUTH_GONE = 4401
CLOSE_ACCESS_GONE = 4403
# Each wait is drawn between (1 - SPREAD) and the whole of the interval, so sockets opened
# together (clients reconnecting after a deploy) do not all query at the same moment.
SPREAD = 0.2
# A floor for the interval, so a setting of 0 cannot spin the event loop.
MIN_INTERVAL = 0.01


@dataclass(frozen=True)
class RightGone:
    """Why a socket lost its right: the close code and a short reason (at most 123 bytes, the
    limit of a WebSocket close reason)."""

    code: int
    message: str


EXPIRED = RightGone(CLOSE_AUTH_GONE, "The token has expired; sign in again")
TOKEN_REFUSED = RightGone(CLOSE_AUTH_GONE, "The token is no longer valid; sign in again")
ACCOUNT_GONE = RightGone(CLOSE_AUTH_GONE, "The account was deleted or disabled")
PASSWORD_CHANGED = RightGone(CLOSE_AUTH_GONE, "The password has changed; sign in again")


def recheck_seconds() -> float:
    """Seconds between two checks: WS_RIGHTS_RECHECK_SECONDS, never longer than an access
    token lives."""
    # Through the module: simplejwt rebinds its api_settings when SIMPLE_JWT changes.
    lifetime = jwt_settings.api_settings.ACCESS_TOKEN_LIFETIME.total_seconds()
    return max(MIN_INTERVAL, min(float(settings.WS_RIGHTS_RECHECK_SECONDS), lifetime))


def recheck_delay(
    *, interval: float, now: float, expires_at: float, draw: Callable[[], float] = random.random
) -> float:
    """How long to wait before the next check: a spread share of `interval`, or less when
    the token expires sooner."""
    wait = interval * (1 - SPREAD * draw())
    return max(0.0, min(wait, expires_at - now))


def token_right(token: str) -> RightGone | None:
    """Whether the token still passes the check REST makes of it (no query: the configured
    token classes check the signature and expiry, and any revocation they know of)."""
    try:
        BearerJWTAuthentication().get_validated_token(token)
    except (InvalidToken, TokenError):
        return TOKEN_REFUSED
    return None


def account_right(user, claims: dict) -> RightGone | None:
    """Whether the token's account still stands. `user` is the account's row as just read,
    or None when it was deleted."""
    if user is None or not user.is_active:
        return ACCOUNT_GONE
    if not token_is_current(user=user, token=claims):
        return PASSWORD_CHANGED
    return None


class RightsWatchMixin:
    """For the async WebSocket consumers, before `AsyncWebsocketConsumer` in the bases.

    A consumer calls `rights_watch(token, claims)` once it accepted a token socket and
    `rights_unwatch()` on disconnect, asks `rights_hold()` before it acts on a client frame,
    and supplies `rights_check()` (one query), `rights_farewell()` (its family's frame before
    the close, or None) and `rights_leave()` (leave its groups). Every frame it sends goes
    through `send`, which sends nothing once the right is gone.

    `clock` (Unix seconds) is what expiry is judged by; a test passes its own through
    `Consumer.as_asgi(clock=…)`."""

    clock: Callable[[], float] = staticmethod(time.time)

    def __init__(self, *args, clock: Callable[[], float] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if clock is not None:
            self.clock = clock
        self.token: str | None = None
        self.token_claims: dict | None = None
        self.right_gone: RightGone | None = None
        self.rights_task: asyncio.Task | None = None

    # --- what a consumer supplies ----------------------------------------------------------

    async def rights_check(self) -> RightGone | None:
        """Read whether the socket's right still stands, in one query, off the event loop."""
        raise NotImplementedError

    def rights_farewell(self, gone: RightGone) -> str | None:
        """The frame that tells the client why, sent before the close; None for none."""
        return None

    async def rights_leave(self) -> None:
        """Leave the groups the socket hears."""

    # --- the watch -------------------------------------------------------------------------

    def rights_watch(self, token: str | None, claims: dict | None) -> None:
        """Watch the right of a socket opened with this token, of these claims (None: no
        token, nothing to watch)."""
        if token is None or claims is None:
            return
        self.token, self.token_claims = token, claims
        if self.rights_task is None:
            self.rights_task = asyncio.create_task(self._rights_loop())

    async def rights_unwatch(self) -> None:
        task, self.rights_task = self.rights_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def token_expired(self) -> bool:
        claims = self.token_claims
        return claims is not None and claims["exp"] <= self.clock()

    async def rights_hold(self) -> bool:
        """Whether the socket may still act; an expired token is found here with no query,
        and closes the socket."""
        if self.right_gone is not None:
            return False
        if self.token_expired():
            await self.rights_revoke(EXPIRED)
            return False
        return True

    async def rights_revoke(self, gone: RightGone) -> None:
        """Close the socket for good: the reason, the close code, then leave the groups."""
        if self.right_gone is not None:
            return
        self.right_gone = gone
        farewell = self.rights_farewell(gone)
        if farewell is not None:
            await super().send(text_data=farewell)
        await self.close(code=gone.code, reason=gone.message)
        await self.rights_leave()

    async def send(self, text_data=None, bytes_data=None, close=False):
        # Every frame the consumer sends passes here (accept and close do not): none once the
        # right is gone. Kept inline, with no query: a broadcast runs it once per socket.
        if self.right_gone is not None:
            return
        claims = self.token_claims
        if claims is not None and claims["exp"] <= self.clock():
            await self.rights_revoke(EXPIRED)
            return
        await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def _rights_loop(self) -> None:
        try:
            await self._rights_checks()
        except Exception:
            # Closing a socket whose client already left can fail; the disconnect that follows
            # cleans up, and the watch must not take the consumer down with it.
            logger.exception("Watching a socket's rights failed")

    async def _rights_checks(self) -> None:
        interval = recheck_seconds()
        expires_at = self.token_claims["exp"]
        while self.right_gone is None:
            await asyncio.sleep(
                recheck_delay(interval=interval, now=self.clock(), expires_at=expires_at)
            )
            if not await self.rights_hold():
                return
            try:
                gone = await self.rights_check()
            except Exception:
                # The database is unreachable: keep the socket (its token's expiry is still
                # enforced with no query) and try again at the next check.
                logger.warning("Checking a socket's rights failed; retrying", exc_info=True)
                continue
            if gone is not None:
                await self.rights_revoke(gone)
