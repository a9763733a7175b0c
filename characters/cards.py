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
from typing import Any

from characters.errors import CardError

BOOK_POSITIONS = ("before_char", "after_char")


def _where(path: str, message: str) -> CardError:
    return CardError(f"{path}: {message}")


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
