"""Real image files for the media tests, drawn with Pillow."""

from __future__ import annotations

import io
import random
from functools import cache

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

RED = (220, 20, 30)
BLUE = (20, 40, 220)


def image_bytes(colour=RED, size=(64, 64), fmt: str = "PNG", mode: str = "RGB") -> bytes:
    image = Image.new(mode, size, colour if mode != "RGBA" else (*colour, 255))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def upload_file(name: str, data: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=content_type)


@cache
def truncated_jpeg() -> bytes:
    """A JPEG whose header is whole (it passes the upload check) but whose pixels stop half
    way (decoding it fails)."""
    rng = random.Random(7)
    image = Image.frombytes("RGB", (256, 256), bytes(rng.randrange(256) for _ in range(256 * 768)))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=95)
    data = out.getvalue()
    return data[: len(data) // 2]
