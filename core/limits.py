"""Size limits every family applies to what clients send."""

from __future__ import annotations

from django.conf import settings

from core.errors import PayloadTooLarge


def content_size_check(content: str, *, field: str = "content", error=PayloadTooLarge) -> None:
    """Refuse client text over MESSAGE_MAX_BYTES (UTF-8): 413 in every family. The model's
    own replies are stored whole."""
    limit = settings.MESSAGE_MAX_BYTES
    size = len(content.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise error(f"{field} is {size} bytes; the limit is {limit} bytes")
