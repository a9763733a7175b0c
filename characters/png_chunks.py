"""PNG/APNG chunks: read with bounds, text chunks read and written, text stripped.

A PNG is an 8-byte signature and then chunks: a 4-byte big-endian length, a 4-byte type, the
data, and a CRC-32 of type and data. Character cards ride in text chunks (`tEXt`, and here
also the compressed `zTXt` and `iTXt`) named `chara` (V1/V2) and `ccv3` (V3), holding base64
of the card's JSON. This module reads and writes chunks only; it never decodes pixels.

Every read is one pass over the bytes, so the time is linear in the input's size (see
tests/characters/test_card_png_linear.py). What a hostile file could make expensive is
refused with `CardError` (a 400) or `CardTooLarge` (a 413): a wrong signature, a chunk longer
than what is left, a CRC mismatch, a chunk type that is not four letters, a missing or late
IHDR, no IEND, more than `max_chunks` chunks, more than `max_pixels` pixels in IHDR, and a
compressed text chunk that inflates past `max_text_bytes` (inflated with that bound, never in
full).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from characters.errors import CardError, CardTooLarge

SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEXT_TYPES = (b"tEXt", b"zTXt", b"iTXt")
KEYWORD_MAX_BYTES = 79  # the PNG specification's limit on a text chunk's keyword


@dataclass(frozen=True)
class Chunk:
    type: bytes
    data: bytes


@dataclass(frozen=True)
class PngLimits:
    max_chunks: int
    max_pixels: int
    max_text_bytes: int


def is_png(content: bytes) -> bool:
    return content.startswith(SIGNATURE)


def read_chunks(content: bytes, limits: PngLimits) -> list[Chunk]:
    """The chunks of a PNG/APNG, up to and including IEND (bytes after IEND are ignored, as
    decoders do). Checks each chunk's length, type and CRC, and IHDR's dimensions."""
    if not is_png(content):
        raise CardError("file: not a PNG image (wrong signature)")
    chunks: list[Chunk] = []
    view = memoryview(content)
    offset = len(SIGNATURE)
    total = len(content)
    while True:
        if len(chunks) >= limits.max_chunks:
            raise CardTooLarge(f"file: more than {limits.max_chunks} PNG chunks")
        if offset + 8 > total:
            raise CardError("file: the PNG ends before its IEND chunk")
        length, kind = struct.unpack_from(">I4s", content, offset)
        start = offset + 8
        end = start + length
        if end + 4 > total:
            raise CardError(f"file: PNG chunk {_name(kind)} is longer than the file")
        if not kind.isalpha() or not kind.isascii():
            raise CardError("file: a PNG chunk type is not four letters")
        (crc,) = struct.unpack_from(">I", content, end)
        if zlib.crc32(view[start:end], zlib.crc32(kind)) != crc:
            raise CardError(f"file: PNG chunk {_name(kind)} fails its CRC check")
        chunk = Chunk(kind, bytes(view[start:end]))
        if not chunks:
            _check_header(chunk, limits)
        chunks.append(chunk)
        offset = end + 4
        if kind == b"IEND":
            return chunks


def _name(kind: bytes) -> str:
    return kind.decode("latin-1").encode("unicode_escape").decode("ascii")


def _check_header(chunk: Chunk, limits: PngLimits) -> None:
    if chunk.type != b"IHDR" or len(chunk.data) != 13:
        raise CardError("file: the PNG does not start with a valid IHDR chunk")
    width, height = struct.unpack_from(">II", chunk.data)
    if width == 0 or height == 0:
        raise CardError("file: the PNG has no pixels (width or height 0)")
    if width * height > limits.max_pixels:
        raise CardTooLarge(
            f"file: the image is {width}x{height} pixels; the limit is {limits.max_pixels} pixels"
        )


def text_of(chunk: Chunk, max_text_bytes: int) -> tuple[str, bytes]:
    """(keyword, text bytes) of a tEXt, zTXt or iTXt chunk; compressed text is inflated up to
    `max_text_bytes`. tEXt/zTXt text is Latin-1 by the PNG specification, iTXt's UTF-8: both
    are returned as bytes, which base64 (ASCII) reads the same either way."""
    keyword, sep, rest = chunk.data.partition(b"\x00")
    if not sep or not 1 <= len(keyword) <= KEYWORD_MAX_BYTES:
        raise CardError(f"file: a PNG {chunk.type.decode()} chunk has no valid keyword")
    name = keyword.decode("latin-1")
    if chunk.type == b"tEXt":
        return name, rest
    if chunk.type == b"zTXt":
        if rest[:1] != b"\x00":
            raise CardError(f"file: zTXt chunk {name!r} uses an unknown compression method")
        return name, inflate(rest[1:], max_text_bytes, name)
    # iTXt: compression flag, method, language tag NUL, translated keyword NUL, text
    if len(rest) < 2:
        raise CardError(f"file: iTXt chunk {name!r} is truncated")
    flag, method = rest[0], rest[1]
    _language, sep1, after = rest[2:].partition(b"\x00")
    _translated, sep2, text = after.partition(b"\x00")
    if not (sep1 and sep2):
        raise CardError(f"file: iTXt chunk {name!r} is truncated")
    if flag == 0:
        return name, text
    if flag != 1 or method != 0:
        raise CardError(f"file: iTXt chunk {name!r} uses an unknown compression method")
    return name, inflate(text, max_text_bytes, name)


def inflate(data: bytes, limit: int, name: str) -> bytes:
    """zlib-inflate `data`, refusing output past `limit` bytes without producing more."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise CardError(f"file: text chunk {name!r} is not valid zlib data") from None
    if len(out) > limit:
        raise CardTooLarge(f"file: text chunk {name!r} inflates past {limit} bytes")
    if not inflater.eof:
        raise CardError(f"file: text chunk {name!r} is truncated zlib data")
    return out


def keyword_of(chunk: Chunk) -> str:
    """A text chunk's keyword, lowercase ("" when it has none)."""
    end = chunk.data.find(b"\x00")
    return chunk.data[:end].decode("latin-1").lower() if end > 0 else ""


def texts_named(chunks: list[Chunk], keywords: tuple[str, ...], limits: PngLimits) -> dict:
    """{keyword (lowercase): text bytes} of the first text chunk of each of `keywords`
    (compared case-insensitively, as SillyTavern does); other text chunks are not inflated."""
    found: dict[str, bytes] = {}
    for chunk in chunks:
        if chunk.type not in TEXT_TYPES:
            continue
        keyword = keyword_of(chunk)
        if keyword in keywords and keyword not in found:
            found[keyword] = text_of(chunk, limits.max_text_bytes)[1]
    return found


def encode_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode(chunks: list[Chunk]) -> bytes:
    return SIGNATURE + b"".join(encode_chunk(chunk.type, chunk.data) for chunk in chunks)


def without_text(chunks: list[Chunk]) -> list[Chunk]:
    """The image without any text chunk (the card and any other metadata)."""
    return [chunk for chunk in chunks if chunk.type not in TEXT_TYPES]


def with_texts(chunks: list[Chunk], texts: list[tuple[str, str]]) -> bytes:
    """A PNG of `chunks` with one tEXt chunk per (keyword, ASCII text) placed before IEND,
    where SillyTavern writes them; text chunks of the same keywords are dropped first."""
    names = {keyword.lower() for keyword, _ in texts}
    kept = [
        chunk for chunk in chunks if chunk.type not in TEXT_TYPES or keyword_of(chunk) not in names
    ]
    added = [Chunk(b"tEXt", k.encode("latin-1") + b"\x00" + t.encode("ascii")) for k, t in texts]
    return encode(kept[:-1] + added + kept[-1:])


def solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> list[Chunk]:
    """The chunks of a small one-colour 8-bit RGB image."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + bytes(rgb) * width
    pixels = zlib.compress(row * height, 9)
    return [Chunk(b"IHDR", header), Chunk(b"IDAT", pixels), Chunk(b"IEND", b"")]
