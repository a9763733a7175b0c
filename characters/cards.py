"""Character Card V1/V2/V3 objects: checked against the specifications, read into a
character's fields and written back out (malfoyslastname/character-card-spec-v2 `spec_v2.md`,
kwaroran/character-card-spec-v3 `SPEC_V3.md`).

Pure functions on JSON values: no database, no HTTP, no image. A check returns a new,
normalised value and keeps every key it does not know, as both specifications ask ("must never
be destroyed"), so an exported card is the card that came in. A value of the wrong shape is a
`CardError` whose message names the field by its path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from characters.errors import CardError

BOOK_POSITIONS = ("before_char", "after_char")


def _where(path: str, message: str) -> CardError:
    return CardError(f"{path}: {message}")


def check_text(value: Any, path: str) -> None:
    """Refuse a NUL character or a lone surrogate in any string or key of `value`: neither
    can be stored (PostgreSQL's text and jsonb refuse them), so neither is a card's text.
    Iterative, so however deep the value nests it costs one visit per item."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                stack.append((key, where))
                stack.append((child, f"{where}.{key}"))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{index}]") for index, child in enumerate(item))
        elif isinstance(item, str):
            if "\x00" in item:
                raise _where(where, "Null characters are not allowed")
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    raise _where(where, "is not valid Unicode (a lone surrogate)") from None


def _is_number(value: Any) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and (isinstance(value, int) or math.isfinite(value))
    )


def check_str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _where(path, "must be a string")
    return value


def check_bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _where(path, "must be true or false")
    return value


def check_number(value: Any, path: str, *, minimum: float | None = None) -> int | float:
    if not _is_number(value):
        raise _where(path, "must be a number")
    if minimum is not None and value < minimum:
        raise _where(path, f"must be {minimum} or more")
    return value


def check_str_list(value: Any, path: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _where(path, "must be a list of strings")
    return list(value)


def check_object(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        raise _where(path, "must be an object")
    return dict(value)


def check_id(value: Any, path: str) -> int | float | str:
    if not (_is_number(value) or isinstance(value, str)):
        raise _where(path, "must be a number or a string")
    return value


def check_position(value: Any, path: str) -> str:
    if value not in BOOK_POSITIONS:
        raise _where(path, "must be 'before_char' or 'after_char'")
    return value


def _non_negative(value: Any, path: str) -> int | float:
    return check_number(value, path, minimum=0)


# Optional fields: absent, or null (some editors write null for "not set"), or of this type.
BOOK_OPTIONAL = {
    "name": check_str,
    "description": check_str,
    "scan_depth": _non_negative,
    "token_budget": _non_negative,
    "recursive_scanning": check_bool,
}
ENTRY_OPTIONAL = {
    "case_sensitive": check_bool,
    "use_regex": check_bool,
    "constant": check_bool,
    "name": check_str,
    "priority": check_number,
    "id": check_id,
    "comment": check_str,
    "selective": check_bool,
    "secondary_keys": check_str_list,
    "position": check_position,
}


def _check_optional(source: dict, out: dict, checks: dict, path: str) -> None:
    for key, check in checks.items():
        if source.get(key) is not None:
            out[key] = check(source[key], f"{path}.{key}")


def entry_check(value: Any, path: str) -> dict:
    """One lorebook entry. `keys` and `content` are required; `extensions` defaults to {}
    (the V2 specification's default), `enabled` to true and `insertion_order` to 0 when a
    card leaves them out; every optional field is checked when present and not null."""
    entry = check_object(value, path)
    if "keys" not in entry:
        raise _where(f"{path}.keys", "is required (a list of strings)")
    entry["keys"] = check_str_list(entry["keys"], f"{path}.keys")
    if "content" not in entry:
        raise _where(f"{path}.content", "is required (a string)")
    entry["content"] = check_str(entry["content"], f"{path}.content")
    entry["extensions"] = check_object(entry.get("extensions", {}), f"{path}.extensions")
    entry["enabled"] = check_bool(entry.get("enabled", True), f"{path}.enabled")
    entry["insertion_order"] = check_number(
        entry.get("insertion_order", 0), f"{path}.insertion_order"
    )
    _check_optional(value, entry, ENTRY_OPTIONAL, path)
    return entry


def book_check(value: Any, path: str = "character_book") -> dict:
    """A `character_book` (V2's CharacterBook, V3's Lorebook) checked and normalised.

    Returns a new dict: the same keys, unknown ones kept as they are, `extensions` set to {}
    when absent (the book's and each entry's). Raises `CardError` naming the first field of
    the wrong shape, e.g. `character_book.entries[3].keys: must be a list of strings`.
    """
    book = check_object(value, path)
    check_text(book, path)
    _check_optional(value, book, BOOK_OPTIONAL, path)
    book["extensions"] = check_object(book.get("extensions", {}), f"{path}.extensions")
    if "entries" not in book:
        raise _where(f"{path}.entries", "is required (a list of entries, maybe empty)")
    entries = book["entries"]
    if not isinstance(entries, list):
        raise _where(f"{path}.entries", "must be a list")
    book["entries"] = [
        entry_check(entry, f"{path}.entries[{index}]") for index, entry in enumerate(entries)
    ]
    return book


# --- Cards -------------------------------------------------------------------------------------

SPEC_V2, SPEC_V3 = "chara_card_v2", "chara_card_v3"
V1_FIELDS = ("name", "description", "personality", "scenario", "first_mes", "mes_example")
V2_STRINGS = (
    *V1_FIELDS,
    "creator_notes",
    "system_prompt",
    "post_history_instructions",
    "creator",
    "character_version",
)
V2_LISTS = ("alternate_greetings", "tags")
# The character's own columns; every other `data` field is kept in `Character.card`.
COLUMN_FIELDS = ("name", "description", "first_mes", "tags", "character_book")
NAME_MAX_CHARS = 100  # Character.name's column


def _check_assets(value: Any, path: str) -> list:
    if not isinstance(value, list):
        raise _where(path, "must be a list of assets")
    for index, asset in enumerate(value):
        check_object(asset, f"{path}[{index}]")
        for key in ("type", "uri", "name", "ext"):
            if key not in asset:
                raise _where(f"{path}[{index}].{key}", "is required (a string)")
            check_str(asset[key], f"{path}[{index}].{key}")
    return list(value)


def _check_str_map(value: Any, path: str) -> dict:
    mapping = check_object(value, path)
    for key, text in mapping.items():
        check_str(text, f"{path}.{key}")
    return mapping


V3_FIELDS = {
    "group_only_greetings": check_str_list,
    "nickname": check_str,
    "creator_notes_multilingual": _check_str_map,
    "source": check_str_list,
    "creation_date": check_number,
    "modification_date": check_number,
    "assets": _check_assets,
}


@dataclass(frozen=True)
class CardFields:
    """A card read into a character's columns; `card` holds every other `data` field."""

    spec: str  # "v1", "v2" or "v3": the card's own version
    name: str
    description: str
    opening_line: str
    tags: list[str]
    character_book: dict | None
    card: dict


def card_read(value: Any) -> CardFields:
    """A V1, V2 or V3 card (the JSON object) checked and read; raises `CardError` naming the
    first field of the wrong shape. A V1 card keeps its six fields; a V2/V3 card keeps every
    field of its `data`, unknown ones included, as they are."""
    if not isinstance(value, dict):
        raise CardError("card: must be a JSON object")
    check_text(value, "card")
    if "spec" not in value:
        if "name" not in value and "data" in value:
            raise _where("spec", f"is missing; expected {SPEC_V2!r} or {SPEC_V3!r}")
        data = {key: value[key] for key in V1_FIELDS if value.get(key) is not None}
        return _fields("v1", data, "")
    spec = value["spec"]
    if spec not in (SPEC_V2, SPEC_V3):
        shown = repr(spec) if isinstance(spec, str) else "not a string"
        raise _where("spec", f"unknown ({shown[:80]}); expected {SPEC_V2!r} or {SPEC_V3!r}")
    if "data" not in value:
        raise _where("data", "is required (an object)")
    data = check_object(value["data"], "data")
    data = {key: item for key, item in data.items() if item is not None}
    if spec == SPEC_V3:
        for key, check in V3_FIELDS.items():
            if key in data:
                data[key] = check(data[key], f"data.{key}")
    return _fields("v3" if spec == SPEC_V3 else "v2", data, "data.")


def _fields(spec: str, data: dict, prefix: str) -> CardFields:
    if "name" not in data:
        raise _where(f"{prefix}name", "is required (a string)")
    for key in V2_STRINGS:
        if key in data:
            check_str(data[key], f"{prefix}{key}")
    for key in V2_LISTS:
        if key in data:
            check_str_list(data[key], f"{prefix}{key}")
    if "extensions" in data:
        data["extensions"] = check_object(data["extensions"], f"{prefix}extensions")
    name = data["name"].strip()
    if not name:
        raise _where(f"{prefix}name", "must not be blank")
    if len(name) > NAME_MAX_CHARS:
        raise _where(f"{prefix}name", f"must be at most {NAME_MAX_CHARS} characters")
    book = data.get("character_book")
    return CardFields(
        spec=spec,
        name=data["name"],
        description=data.get("description", ""),
        opening_line=data.get("first_mes", ""),
        tags=data.get("tags", []),
        character_book=None if book is None else book_check(book, f"{prefix}character_book"),
        card={key: item for key, item in data.items() if key not in COLUMN_FIELDS},
    )


def _data(character, defaults: dict) -> dict:
    data = {**defaults, **(character.card or {})}
    data.update(
        name=character.name,
        description=character.description,
        first_mes=character.opening_line,
        tags=list(character.tags or []),
    )
    if character.character_book is not None:
        data["character_book"] = character.character_book
    return data


def _v2_defaults() -> dict:
    defaults: dict[str, Any] = dict.fromkeys(V2_STRINGS, "")
    defaults.update(alternate_greetings=[], tags=[], extensions={})
    return defaults


def card_v2(character) -> dict:
    """The character as a V2 card (`chara_card_v2`, "2.0"), the spec's layout: every V2 field
    (empty when the character has none) and the other fields it keeps, as they are."""
    return {"spec": SPEC_V2, "spec_version": "2.0", "data": _data(character, _v2_defaults())}


def card_v3(character) -> dict:
    """The character as a V3 card (`chara_card_v3`, "3.0"): the V2 fields, `group_only_greetings`
    ([] when none), the creation and modification dates (the character's own when the card had
    none), and each lorebook entry's `use_regex` (false when the book had none)."""
    defaults = {
        **_v2_defaults(),
        "group_only_greetings": [],
        "creation_date": int(character.created_at.timestamp()),
        "modification_date": int(character.updated_at.timestamp()),
    }
    data = _data(character, defaults)
    if "character_book" in data:
        book = dict(data["character_book"])
        book["entries"] = [{"use_regex": False, **entry} for entry in book.get("entries", [])]
        data["character_book"] = book
    return {"spec": SPEC_V3, "spec_version": "3.0", "data": data}
