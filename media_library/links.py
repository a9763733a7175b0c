"""Signed, expiring links to a media file or its thumbnail.

The link carries a token signed with `django.core.signing` (the SECRET_KEY, a salt of its
own) over the media id, the kind of file, its version, the user it was made for and an
expiry time. It authenticates by itself, so an `<img src>` or a plain download works without
a token header; changing any part of it, or using it after it expired, is refused.

Expiry times are rounded up to the next LINK_BUCKET_SECONDS, so every link to one file made
within the same few minutes is the same URL and a browser serves it from its cache. A link
is therefore valid for at least MEDIA_SIGNED_URL_SECONDS and at most that plus the bucket.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core import signing
from django.urls import reverse

from media_library.errors import SignedLinkInvalid

SALT = "media_library.links"
KINDS = ("download", "thumbnail")
LINK_BUCKET_SECONDS = 600


@dataclass(frozen=True)
class SignedLink:
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class LinkGrant:
    """What a valid link allows: `kind` of `media_id` at `version`, made for `user_id`."""

    media_id: str
    kind: str
    version: int
    user_id: int | None
    expires: int


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT)


def signed_link(media, kind: str, *, user=None, lifetime: int | None = None) -> SignedLink:
    """A path (relative to the server) that serves `kind` of `media` until it expires;
    requests through it count against `user`'s rate limit."""
    if kind not in KINDS:
        raise ValueError(kind)
    seconds = settings.MEDIA_SIGNED_URL_SECONDS if lifetime is None else lifetime
    expires = int(time.time()) + seconds
    if seconds > 0:
        expires = math.ceil(expires / LINK_BUCKET_SECONDS) * LINK_BUCKET_SECONDS
    user_id = user.pk if user is not None and getattr(user, "is_authenticated", False) else None
    token = _signer().sign_object(
        {"m": media.pk, "k": kind, "v": media.version, "u": user_id, "e": expires}
    )
    path = reverse(f"media-{kind}", kwargs={"media_id": media.pk})
    return SignedLink(f"{path}?token={token}", datetime.fromtimestamp(expires, tz=UTC))


def read_link(token: str) -> LinkGrant:
    """The grant of a token whose signature holds (expired or not); SignedLinkInvalid else."""
    try:
        payload = _signer().unsign_object(token or "")
    except (signing.BadSignature, ValueError):
        raise SignedLinkInvalid("Invalid link signature") from None
    try:
        return LinkGrant(
            media_id=str(payload["m"]),
            kind=str(payload["k"]),
            version=int(payload["v"]),
            user_id=None if payload.get("u") is None else int(payload["u"]),
            expires=int(payload["e"]),
        )
    except (KeyError, TypeError, ValueError):
        raise SignedLinkInvalid("Invalid link signature") from None


def verify_link(token: str, *, media_id: str, kind: str) -> LinkGrant:
    """The grant, if `token` is a valid, unexpired link to `kind` of `media_id`."""
    grant = read_link(token)
    if grant.media_id != media_id or grant.kind != kind:
        raise SignedLinkInvalid("Invalid link signature")
    if grant.expires < time.time():
        raise SignedLinkInvalid(
            f"This link has expired; fetch a fresh one from GET /api/v1/media/{media_id}"
        )
    return grant
