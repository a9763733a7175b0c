"""Character card files: a PNG/APNG or JSON file read into a card, a character written out as
a card PNG, and the imported image kept as the character's avatar.

Where the avatar lives: in the project's file storage (`default_storage`, under MEDIA_ROOT by
default) as `characters/avatars/<id>.png`, without any text chunk, served by
`GET /api/characters/{id}/avatar` with the character's own visibility. An exported PNG is that
image (or, for a character without one, a small generated image) with a `chara` (V2) and a
`ccv3` (V3) tEXt chunk before IEND, as SillyTavern writes them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from characters import png_chunks
from characters.cards import CardFields, card_read, card_v2, card_v3
from characters.errors import CardError, CardTooLarge

CARD_KEYWORDS = ("ccv3", "chara")  # the first one present wins
GENERATED_SIDE = 256
AVATAR_DIR = "characters/avatars"


@dataclass(frozen=True)
class CardFile:
    fields: CardFields
    image: bytes | None  # the PNG without its text chunks; None for a JSON card


def limits() -> png_chunks.PngLimits:
    return png_chunks.PngLimits(
        max_chunks=settings.CHARACTER_CARD_MAX_CHUNKS,
        max_pixels=settings.CHARACTER_CARD_MAX_PIXELS,
        max_text_bytes=settings.CHARACTER_CARD_MAX_BYTES,
    )


def check_size(size: int) -> None:
    if size > settings.CHARACTER_CARD_MAX_BYTES:
        raise CardTooLarge(
            f"file: {size} bytes; a character card may have at most "
            f"{settings.CHARACTER_CARD_MAX_BYTES} bytes"
        )


def card_file_read(content: bytes) -> CardFile:
    """A card file (PNG/APNG with a `ccv3` or `chara` text chunk, or a V1/V2/V3 JSON card)
    read and checked whole; raises CardError (400) or CardTooLarge (413) saying what is wrong."""
    check_size(len(content))
    if png_chunks.is_png(content):
        chunks = png_chunks.read_chunks(content, limits())
        texts = png_chunks.texts_named(chunks, CARD_KEYWORDS, limits())
        keyword = next((name for name in CARD_KEYWORDS if name in texts), None)
        if keyword is None:
            raise CardError("file: the PNG carries no character card (no 'ccv3' or 'chara' chunk)")
        value = base64_json(texts[keyword], f"file ({keyword} chunk)")
        image = png_chunks.encode(png_chunks.without_text(chunks))
        return CardFile(card_read(value), image)
    if content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return CardFile(card_read(json_load(content, "file")), None)
    raise CardError("file: neither a PNG/APNG image nor a JSON character card")


def card_png(character, image: bytes | None) -> bytes:
    """The character as a card PNG: `image` (a PNG without text chunks), or a generated one,
    with the `chara` (V2) and then the `ccv3` (V3) tEXt chunk before IEND."""
    if image is None:
        chunks = png_chunks.solid_png(GENERATED_SIDE, GENERATED_SIDE, _colour(character.name))
    else:
        chunks = png_chunks.read_chunks(image, limits())
    texts = [("chara", base64_of(card_v2(character))), ("ccv3", base64_of(card_v3(character)))]
    return png_chunks.with_texts(chunks, texts)


def _colour(name: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return (64 + digest[0] // 2, 64 + digest[1] // 2, 64 + digest[2] // 2)


# --- JSON in base64 ----------------------------------------------------------------------------


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def json_load(raw: bytes, where: str) -> Any:
    """UTF-8 JSON (a leading byte-order mark is skipped); NaN and Infinity are refused."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CardError(f"{where}: is not UTF-8 text") from None
    try:
        return json.loads(text.removeprefix("\ufeff"), parse_constant=_refuse_constant)
    except RecursionError:
        raise CardError(f"{where}: is nested too deeply") from None
    except ValueError as exc:
        raise CardError(f"{where}: is not valid JSON ({str(exc)[:120]})") from None


def base64_json(text: bytes, where: str) -> Any:
    """A PNG card chunk's text: base64 (whitespace ignored) of UTF-8 JSON."""
    compact = text.translate(None, b" \t\r\n")
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise CardError(f"{where}: is not valid base64") from None
    return json_load(raw, where)


def base64_of(card: dict) -> str:
    """A card as a PNG chunk's text: base64 of its compact UTF-8 JSON."""
    raw = json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(raw).decode("ascii")


# --- The avatar image --------------------------------------------------------------------------


def avatar_name(character_id: int) -> str:
    return f"{AVATAR_DIR}/{character_id}.png"


def avatar_save(character_id: int, image: bytes) -> None:
    name = avatar_name(character_id)
    if default_storage.exists(name):
        default_storage.delete(name)
    default_storage.save(name, ContentFile(image))


def avatar_read(character_id: int) -> bytes | None:
    name = avatar_name(character_id)
    if not default_storage.exists(name):
        return None
    with default_storage.open(name, "rb") as file:
        return file.read()


def avatar_delete(character_id: int) -> None:
    default_storage.delete(avatar_name(character_id))
