"""Pixel-level analysis of an image: size, colour depth, compression, palette, thumbnail.

Plain functions over a file handle, no database and no model: the analysis task calls them
and stores what they return.
"""

from __future__ import annotations

import colorsys
import io
from dataclasses import dataclass

from PIL import Image, ImageOps

BITS_PER_PIXEL = {
    "1": 1,
    "L": 8,
    "P": 8,
    "LA": 16,
    "La": 16,
    "PA": 16,
    "I;16": 16,
    "RGB": 24,
    "YCbCr": 24,
    "LAB": 24,
    "HSV": 24,
    "RGBA": 32,
    "RGBa": 32,
    "RGBX": 32,
    "CMYK": 32,
    "I": 32,
    "F": 32,
}
PALETTE_SIZE = 5
# A colour covering less of the image than this is noise, not part of its palette.
MIN_SHARE = 0.02


@dataclass(frozen=True)
class ImageFacts:
    width: int
    height: int
    color_depth: int
    compression: str
    format: str
    animated: bool
    palette: list[dict]
    thumbnail: bytes

    def technical_data(self) -> dict:
        return {
            "dimensions": {"width": self.width, "height": self.height},
            "colorDepth": self.color_depth,
            "compression": self.compression,
            "format": self.format,
            "animated": self.animated,
            "palette": self.palette,
        }


def compression_of(image: Image.Image, head: bytes) -> str:
    """The codec, as an editor would name it."""
    if image.format == "JPEG":
        return "JPEG (progressive)" if image.info.get("progressive") else "JPEG"
    if image.format == "PNG":
        return "Deflate"
    if image.format == "GIF":
        return "LZW"
    if image.format == "WEBP":
        chunk = head[12:16]
        if chunk == b"VP8L":
            return "VP8L (lossless)"
        if chunk == b"VP8 ":
            return "VP8 (lossy)"
        return "VP8X"
    return image.format or "unknown"


def colour_name(rgb: tuple[int, int, int]) -> str:
    """A plain colour word for an RGB colour (what a person would search for)."""
    r, g, b = (c / 255 for c in rgb)
    hue, lightness, saturation = colorsys.rgb_to_hls(r, g, b)
    if saturation < 0.15 or lightness < 0.08 or lightness > 0.95:
        if lightness < 0.15:
            return "black"
        if lightness > 0.85:
            return "white"
        return "gray"
    degrees = hue * 360
    if degrees < 15 or degrees >= 340:
        name = "red"
    elif degrees < 45:
        name = "brown" if lightness < 0.35 else "orange"
    elif degrees < 70:
        name = "yellow"
    elif degrees < 165:
        name = "green"
    elif degrees < 195:
        name = "cyan"
    elif degrees < 255:
        name = "blue"
    elif degrees < 290:
        name = "purple"
    else:
        name = "pink"
    return name


def palette_of(image: Image.Image, size: int = PALETTE_SIZE) -> list[dict]:
    """The image's dominant colours (each at least MIN_SHARE of it), most frequent first:
    [{hex, name, share}]."""
    # Nearest-neighbour sampling keeps the image's own colours (no blended edges).
    small = image.copy()
    small.thumbnail((96, 96), resample=Image.Resampling.NEAREST)
    rgb = _flatten_alpha(small)
    quantised = rgb.quantize(colors=size, method=Image.Quantize.MEDIANCUT)
    palette = quantised.getpalette() or []
    counts = sorted(quantised.getcolors() or [], reverse=True)
    total = sum(count for count, _ in counts) or 1
    shares: dict[tuple, int] = {}
    for count, index in counts:
        # Median cut may split one colour into several entries: merge them.
        colour = tuple(palette[index * 3 : index * 3 + 3])
        shares[colour] = shares.get(colour, 0) + count
    ranked = sorted(shares.items(), key=lambda item: -item[1])[:size]
    colours = [
        {
            "hex": "#{:02x}{:02x}{:02x}".format(*colour),
            "name": colour_name(colour),
            "share": round(count / total, 3),
        }
        for colour, count in ranked
        if count / total >= MIN_SHARE
    ]
    return colours


def _flatten_alpha(image: Image.Image) -> Image.Image:
    """RGB on a white background (transparent pixels count as white)."""
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    ):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def thumbnail_of(image: Image.Image, px: int) -> bytes:
    """A JPEG at most `px` on its longer side, upright (EXIF orientation applied)."""
    thumb = ImageOps.exif_transpose(image.copy())
    thumb.thumbnail((px, px))
    out = io.BytesIO()
    _flatten_alpha(thumb).save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


def analyse_image(file, *, thumbnail_px: int) -> ImageFacts:
    """Decode the whole image (a truncated or corrupt file raises here) and describe it."""
    file.seek(0)
    head = file.read(32)
    file.seek(0)
    with Image.open(file) as image:
        mode = image.mode
        image.load()
        facts = ImageFacts(
            width=image.width,
            height=image.height,
            color_depth=BITS_PER_PIXEL.get(mode, 8 * len(image.getbands())),
            compression=compression_of(image, head),
            format=image.format or "",
            animated=bool(getattr(image, "is_animated", False)),
            palette=palette_of(image),
            thumbnail=thumbnail_of(image, thumbnail_px),
        )
    return facts
