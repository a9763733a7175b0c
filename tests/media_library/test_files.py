"""Telling an upload by its content, and the upload handler that stops at the size limit."""

from __future__ import annotations

import io
import os

import pytest

from media_library.files import OversizeUpload, SizeLimitedUploadHandler, identify, sniff_mime
from tests.media_library.images import BLUE, RED, image_bytes, truncated_jpeg


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("GIF", "image/gif")],
)
def test_each_accepted_format_is_told_by_content(fmt, mime):
    data = image_bytes(RED, fmt=fmt)
    assert sniff_mime(data[:32]) == mime
    assert identify(io.BytesIO(data)).mime == mime


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello world",
        b"%PDF-1.7\n",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        image_bytes(RED, fmt="BMP"),
        image_bytes(RED, fmt="TIFF"),
    ],
)
def test_other_content_is_not_accepted(data):
    sniffed = identify(io.BytesIO(data))
    assert sniffed.mime is None and "PNG, JPEG, WebP, GIF" in sniffed.reason


def test_a_signature_without_a_readable_image_is_not_accepted():
    sniffed = identify(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64))
    assert sniffed.mime is None and "not a readable PNG image" in sniffed.reason


def test_a_pixel_bomb_is_not_accepted(settings, monkeypatch):
    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    sniffed = identify(io.BytesIO(image_bytes(BLUE, size=(64, 64))))
    assert sniffed.mime is None and sniffed.reason == "image has too many pixels"


def test_a_truncated_jpeg_passes_the_upload_check():
    # Its header is whole; only decoding (the analysis) finds the missing pixels.
    assert identify(io.BytesIO(truncated_jpeg())).mime == "image/jpeg"


def _feed(handler, data: bytes, chunk: int = 1000):
    handler.new_file("files", "x.png", "image/png", len(data))
    for start in range(0, len(data), chunk):
        handler.receive_data_chunk(data[start : start + chunk], start)
    return handler.file_complete(len(data))


def test_a_file_within_the_limit_is_streamed_to_a_temporary_file():
    data = image_bytes(RED, size=(200, 200))
    uploaded = _feed(SizeLimitedUploadHandler(limit=len(data)), data)
    assert os.path.exists(uploaded.temporary_file_path())
    uploaded.seek(0)
    assert uploaded.read() == data and uploaded.size == len(data)
    uploaded.close()


def test_a_file_over_the_limit_is_only_counted():
    data = b"x" * 10_000
    handler = SizeLimitedUploadHandler(limit=2_500)
    handler.new_file("files", "big.png", "image/png", None)
    handler.receive_data_chunk(data[:2000], 0)
    path = handler.file.temporary_file_path()
    for start in range(2000, len(data), 2000):
        assert handler.receive_data_chunk(data[start : start + 2000], start) is None
    # Past the limit the partial temporary file is gone, and nothing more was written.
    assert not os.path.exists(path)
    result = handler.file_complete(len(data))
    assert isinstance(result, OversizeUpload)
    assert result.too_large and result.size == 10_000 and result.name == "big.png"
