"""Tags as the uploader and the analysis model give them, and the index search matches."""

from __future__ import annotations

from core.errors import ValidationFailed

MAX_TAGS = 20
MAX_TAG_CHARS = 50


def clean_tags(tags) -> list[str]:
    """Trimmed tags without repeats (compared casefolded), checked for count and length."""
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ValidationFailed(
            "tags must be a list of strings",
            details=[{"field": "tags", "message": "Must be a list of strings"}],
        )
    seen: dict[str, str] = {}
    for tag in tags:
        tag = " ".join(tag.split())
        if not tag:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise ValidationFailed(
                f"tags: a tag may have at most {MAX_TAG_CHARS} characters",
                details=[{"field": "tags", "message": f"At most {MAX_TAG_CHARS} characters"}],
            )
        seen.setdefault(tag.casefold(), tag)
    if len(seen) > MAX_TAGS:
        raise ValidationFailed(
            f"tags: at most {MAX_TAGS} tags",
            details=[{"field": "tags", "message": f"At most {MAX_TAGS} tags"}],
        )
    return list(seen.values())


def tag_index(*tag_lists: list[str]) -> str:
    """The casefolded words of every list, comma-delimited at both ends for `LIKE` search."""
    words = []
    for tags in tag_lists:
        for tag in tags or []:
            key = tag.casefold().replace(",", " ").strip()
            if key and key not in words:
                words.append(key)
    return f",{','.join(words)}," if words else ""


def clean_ai_tags(tags: list) -> list[str]:
    """The model's tags, trimmed, lowercased and without repeats, at most MAX_TAGS."""
    seen: dict[str, str] = {}
    for tag in tags:
        if isinstance(tag, str) and (text := " ".join(tag.split())[:MAX_TAG_CHARS]):
            seen.setdefault(text.casefold(), text.lower())
    return list(seen.values())[:MAX_TAGS]
