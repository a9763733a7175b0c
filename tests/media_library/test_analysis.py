"""Pixel analysis: size, colour depth, compression, palette names, thumbnail."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from media_library.analysis import analyse_image, colour_name
from tests.media_library.images import BLUE, RED, image_bytes, truncated_jpeg


@pytest.mark.parametrize(
    ("rgb", "name"),
    [
        ((220, 20, 30), "red"),
        ((20, 40, 220), "blue"),
        ((30, 180, 60), "green"),
        ((240, 220, 40), "yellow"),
        ((250, 140, 20), "orange"),
        ((110, 60, 20), "brown"),
        ((140, 40, 200), "purple"),
        ((240, 100, 180), "pink"),
        ((30, 200, 210), "cyan"),
        ((0, 0, 0), "black"),
        ((255, 255, 255), "white"),
        ((128, 128, 128), "gray"),
    ],
)
def test_colour_names(rgb, name):
    assert colour_name(rgb) == name


@pytest.mark.parametrize(
    ("fmt", "mode", "depth", "compression"),
    [
        ("PNG", "RGB", 24, "Deflate"),
        ("PNG", "RGBA", 32, "Deflate"),
        ("PNG", "L", 8, "Deflate"),
        ("JPEG", "RGB", 24, "JPEG"),
        ("GIF", "P", 8, "LZW"),
        ("WEBP", "RGB", 24, "VP8 (lossy)"),
    ],
)
def test_technical_data(fmt, mode, depth, compression):
    colour = RED if mode != "L" else 128
    data = image_bytes(colour, size=(300, 120), fmt=fmt, mode=mode if mode != "P" else "RGB")
    if mode == "P":
        image = Image.open(io.BytesIO(data)).convert("P")
        out = io.BytesIO()
        image.save(out, format="GIF")
        data = out.getvalue()
    facts = analyse_image(io.BytesIO(data), thumbnail_px=256)
    technical = facts.technical_data()
    assert technical["dimensions"] == {"width": 300, "height": 120}
    assert technical["colorDepth"] == depth
    assert technical["compression"] == compression


def test_palette_lists_dominant_colours_first():
    image = Image.new("RGB", (100, 100), BLUE)
    image.paste(RED, (0, 0, 100, 30))
    out = io.BytesIO()
    image.save(out, format="PNG")
    palette = analyse_image(out, thumbnail_px=64).palette
    assert [c["name"] for c in palette] == ["blue", "red"]
    assert palette[0]["share"] == pytest.approx(0.7, abs=0.02)
    assert palette[0]["hex"] == "#1428dc"


def test_thumbnail_is_a_small_jpeg_with_transparency_on_white():
    data = image_bytes(RED, size=(1024, 512), mode="RGBA")
    image = Image.open(io.BytesIO(data))
    image.putalpha(0)
    out = io.BytesIO()
    image.save(out, format="PNG")
    facts = analyse_image(out, thumbnail_px=256)
    thumb = Image.open(io.BytesIO(facts.thumbnail))
    assert thumb.format == "JPEG" and thumb.size == (256, 128)
    assert thumb.getpixel((10, 10)) == pytest.approx((255, 255, 255), abs=2)
    assert facts.palette[0]["name"] == "white"


def test_a_truncated_image_fails_to_decode():
    with pytest.raises(OSError, match="truncated"):
        analyse_image(io.BytesIO(truncated_jpeg()), thumbnail_px=256)
