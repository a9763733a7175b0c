"""Signed, expiring links to a media file or its thumbnail.

The link carries a token made with `django.core.signing` (the SECRET_KEY, a salt of its own)
over the media id, the kind of file, its version and an expiry time. It authenticates by
itself, so an `<img src>` or a plain download works without a token header; changing any
part of it, or using it after it expired, is refused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core import signing
from django.urls import reverse

from media_library.errors import SignedLinkInvalid

SALT = "media_library.links"
KINDS = ("download", "thumbnail")


@dataclass(frozen=True)
class SignedLink:
    url: str
    expires_at: datetime


def signed_link(media, kind: str, *, lifetime: int | None = None) -> SignedLink:
    """A path (relative to the server) that serves `kind` of `media` until it expires."""
    if kind not in KINDS:
        raise ValueError(kind)
    seconds = settings.MEDIA_SIGNED_URL_SECONDS if lifetime is None else lifetime
    expires = int(time.time()) + seconds
    token = signing.dumps(
        {"m": media.pk, "k": kind, "v": media.version, "e": expires}, salt=SALT, compress=False
    )
    path = reverse(f"media-{kind}", kwargs={"media_id": media.pk})
    return SignedLink(f"{path}?token={token}", datetime.fromtimestamp(expires, tz=UTC))


def verify_link(token: str, *, media_id: str, kind: str) -> int:
    """The version the link was made for; raise SignedLinkInvalid if it is not a valid link
    to `kind` of `media_id`, or has expired."""
    try:
        payload = signing.loads(token or "", salt=SALT)
    except signing.BadSignature:
        raise SignedLinkInvalid("Invalid link signature") from None
    if not isinstance(payload, dict) or payload.get("m") != media_id or payload.get("k") != kind:
        raise SignedLinkInvalid("Invalid link signature")
    expires = payload.get("e")
    if not isinstance(expires, int) or expires < time.time():
        raise SignedLinkInvalid(
            f"This link has expired; fetch a fresh one from GET /api/v1/media/{media_id}"
        )
    return int(payload.get("v") or 0)
