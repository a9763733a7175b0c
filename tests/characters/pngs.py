"""PNG files built by the tests themselves, chunk by chunk with struct and zlib, in the PNG
specification's layout (signature, then length, type, data, CRC-32 of type and data), so the
card tests never lean on the module they test to make their input."""

from __future__ import annotations

import base64
import json
import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunk(kind: bytes, data: bytes, *, crc: int | None = None) -> bytes:
    if crc is None:
        crc = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def ihdr(width: int = 2, height: int = 2) -> bytes:
    # 8-bit truecolour, deflate, adaptive filtering, no interlace
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))


def idat(width: int = 2, height: int = 2, rgb: bytes = b"\x10\x80\xf0") -> bytes:
    rows = (b"\x00" + rgb * width) * height
    return chunk(b"IDAT", zlib.compress(rows))


IEND = chunk(b"IEND", b"")


def text(keyword: str, value: str) -> bytes:
    return chunk(b"tEXt", keyword.encode("latin-1") + b"\x00" + value.encode("latin-1"))


def ztext(keyword: str, value: bytes) -> bytes:
    return chunk(b"zTXt", keyword.encode("latin-1") + b"\x00\x00" + zlib.compress(value))


def itext(keyword: str, value: bytes, *, compressed: bool) -> bytes:
    body = zlib.compress(value) if compressed else value
    flag = b"\x01\x00" if compressed else b"\x00\x00"
    return chunk(b"iTXt", keyword.encode("latin-1") + b"\x00" + flag + b"\x00\x00" + body)


def b64(card) -> str:
    return base64.b64encode(json.dumps(card).encode("utf-8")).decode("ascii")


def png(*middle: bytes, width: int = 2, height: int = 2) -> bytes:
    """A small valid image with `middle` chunks between its IDAT and IEND."""
    return SIGNATURE + ihdr(width, height) + idat(width, height) + b"".join(middle) + IEND


def card_png(*texts: tuple[str, dict | str]) -> bytes:
    """An image with one tEXt chunk per (keyword, card or raw text), before IEND."""
    return png(*(text(k, v if isinstance(v, str) else b64(v)) for k, v in texts))


def chunks_of(content: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, read independently of the module under test."""
    assert content[:8] == SIGNATURE
    out, offset = [], 8
    while offset < len(content):
        (length,) = struct.unpack(">I", content[offset : offset + 4])
        kind = content[offset + 4 : offset + 8]
        data = content[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", content[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + data), kind
        out.append((kind, data))
        offset += 12 + length
    return out


def text_chunks(content: bytes) -> dict[str, dict]:
    """{keyword: decoded card JSON} of the image's tEXt chunks."""
    found = {}
    for kind, data in chunks_of(content):
        if kind == b"tEXt":
            keyword, _, value = data.partition(b"\x00")
            found[keyword.decode("latin-1")] = json.loads(base64.b64decode(value))
    return found
