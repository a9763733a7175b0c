"""A character's lorebook (a card's `character_book`) at turn time: which entries fire.

The rules are the Character Card V2 and V3 specifications' (`spec_v2.md`, `SPEC_V3.md`), with
SillyTavern's world info as the anchor where they leave a choice open:

- an entry fires when one of its `keys` occurs in the newest `scan_depth` messages (absent:
  SillyTavern's default of 2; 0 scans nothing), case-insensitively unless `case_sensitive`;
  keys match as substrings, as SillyTavern matches them by default;
- `selective` with `secondary_keys` also needs one secondary key; `constant` fires without a
  key; an entry with `enabled: false` never fires, nor one whose content is empty;
- V3's `use_regex` makes every key a regular expression (then `constant` and `secondary_keys`
  are ignored, as V3 says); a key written `/pattern/flags` is one in any case, as SillyTavern
  reads it. Patterns run on RE2 (`google-re2`): time linear in the text, whatever the
  pattern, and a compiled program of at most REGEX_MAX_MEM bytes. A pattern RE2 refuses
  (backreferences, look-around, too large) matches nothing, as V3 says of invalid ones;
- `recursive_scanning: true` lets fired entries' content fire others, for at most
  RECURSION_STEPS more passes;
- `token_budget` (> 0) keeps the entries of highest `priority` (absent: 0), then highest
  `insertion_order`, while their estimated tokens (`ai.engine.estimate_tokens`) fit;
- the result is ordered by `insertion_order` (lower goes higher in the prompt), each with its
  `position` (`before_char`, or `after_char` when absent, as SillyTavern converts a book).
V3 decorators at the head of an entry's content are removed from it; `@@activate`,
`@@dont_activate` and `@@scan_depth N` are followed, fallbacks (`@@@`) included. `{{char}}`
and `{{user}}` are replaced in keys and content.

Plain keys are found with `str.find` on the scanned text, linear in its size. A malformed
entry (a card stored before its book was checked) is skipped, never a failed turn.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import re2

from ai.engine import estimate_tokens

DEFAULT_SCAN_DEPTH = 2  # SillyTavern's world_info_depth
MAX_SCAN_DEPTH = 1000  # SillyTavern's MAX_SCAN_DEPTH
RECURSION_STEPS = 3
REGEX_MAX_CHARS = 1000
REGEX_MAX_MEM = 1 << 20
# Between scanned messages, so that no key matches across two of them (SillyTavern's joiner).
JOINER = "\n\x01"
DEFAULT_USER_NAME = "User"  # SillyTavern's default persona name
POSITIONS = ("before_char", "after_char")
DEFAULT_POSITION = "after_char"
DECORATORS = ("activate", "dont_activate", "scan_depth")
# No nested quantifier: linear in the text (tests/characters/test_lorebook_linear.py).
MACRO_RE = re.compile(r"\{\{(char|user)\}\}", re.IGNORECASE)
REGEX_FLAGS = frozenset("gimsuy")


@dataclass(frozen=True)
class Fired:
    """An entry that goes into the prompt, and why: the key that matched (None when the entry
    is `constant` or `@@activate`d), the secondary key of a selective entry, and whether the
    match was in the chat or in other entries' content (`recursion`)."""

    index: int
    entry: dict
    content: str
    key: str | None
    secondary_key: str | None
    source: str  # "chat", "recursion", "constant" or "decorator"
    tokens: int

    @property
    def position(self) -> str:
        position = self.entry.get("position")
        return position if position in POSITIONS else DEFAULT_POSITION

    @property
    def insertion_order(self) -> float:
        return _number(self.entry.get("insertion_order"), 0)

    def record(self) -> dict:
        """How the prompt record names it (camelCase, family A's style)."""
        entry = self.entry
        return {
            "entry": entry.get("id", self.index),
            "index": self.index,
            "name": entry.get("name") or None,
            "comment": entry.get("comment") or None,
            "key": self.key,
            "secondaryKey": self.secondary_key,
            "source": self.source,
            "position": self.position,
            "insertionOrder": self.insertion_order,
            "tokens": self.tokens,
        }


def macros(text: str, *, char: str, user: str = DEFAULT_USER_NAME) -> str:
    """`{{char}}` and `{{user}}` replaced (any case, as V3 says macros are detected)."""
    if "{{" not in text:
        return text
    return MACRO_RE.sub(lambda m: char if m.group(1).lower() == "char" else user, text)


def _number(value: object, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return value


def _depth(value: object, default: int) -> int:
    number = _number(value, default)
    return int(max(0, min(MAX_SCAN_DEPTH, number)))


def decorators(content: str) -> tuple[dict[str, str], str]:
    """V3 decorators at the head of `content` (the recognised ones, first of each name, a
    `@@@` fallback standing in for an unrecognised one before it), and the content without
    them or the newlines around them."""
    if not content.startswith("@@"):
        return {}, content
    found: dict[str, str] = {}
    lines = content.split("\n")
    looking_for_fallback = False
    index = 0
    while index < len(lines) and lines[index].startswith("@@"):
        line = lines[index]
        index += 1
        fallback = line.startswith("@@@")
        if fallback and not looking_for_fallback:
            continue
        name, _, value = line.lstrip("@").partition(" ")
        value = value.strip()
        known = name in DECORATORS and name not in found and _valid_decorator(name, value)
        if known:
            found[name] = value
        looking_for_fallback = not known
    return found, "\n".join(lines[index:]).strip("\n")


def _valid_decorator(name: str, value: str) -> bool:
    if name == "scan_depth":
        return value.isascii() and value.isdigit()
    return True


def regex_key(key: str, *, case_sensitive: bool):
    """The compiled regex of a key: `/pattern/flags` (SillyTavern's form; flags among
    g, i, m, s, u, y, of which i, m and s change the match) or, without slashes, the whole key
    as the pattern, case-insensitive unless `case_sensitive`. None when RE2 refuses it."""
    pattern, flags = key, "" if case_sensitive else "i"
    slashed = _slashed(key)
    if slashed is not None:
        pattern, flags = slashed
    return _compiled(pattern, "".join(sorted(set(flags) & set("ims"))))


def _slashed(key: str) -> tuple[str, str] | None:
    """`/pattern/flags` split, or None (SillyTavern's rule: an unescaped `/` inside the
    pattern makes it no regex)."""
    if len(key) < 3 or not key.startswith("/"):
        return None
    end = key.rfind("/")
    flags = key[end + 1 :]
    if end < 2 or not set(flags) <= REGEX_FLAGS:
        return None
    pattern = key[1:end]
    escaped = False
    for character in pattern:
        if character == "/" and not escaped:
            return None
        escaped = character == "\\" and not escaped
    return pattern.replace("\\/", "/"), flags


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str, flags: str):
    if not pattern or len(pattern) > REGEX_MAX_CHARS:
        return None
    options = re2.Options()
    options.max_mem = REGEX_MAX_MEM
    options.log_errors = False
    options.never_capture = True
    try:
        return re2.compile(f"(?{flags}){pattern}" if flags else pattern, options)
    except re2.error:
        return None


class _Scan:
    """The scanned text at each depth, built once per depth and case (a book's entries share
    a few depths at most), plus the fired entries' content when recursing."""

    def __init__(self, messages: Sequence[str]):
        self.messages = messages
        self.extra = ""
        self.extra_lower = ""
        self._texts: dict[tuple[int, bool], str] = {}

    def text(self, depth: int, case_sensitive: bool) -> str:
        cache_key = (depth, case_sensitive)
        if cache_key not in self._texts:
            recent = self.messages[max(0, len(self.messages) - depth) :] if depth else []
            text = JOINER.join(recent)
            self._texts[cache_key] = text if case_sensitive else text.lower()
        text = self._texts[cache_key]
        if self.extra:
            extra = self.extra if case_sensitive else self.extra_lower
            return f"{text}{JOINER}{extra}" if text else extra
        return text

    def add(self, content: str) -> None:
        self.extra = f"{self.extra}{JOINER}{content}" if self.extra else content
        self.extra_lower = self.extra.lower()


def _first_match(
    keys: list[str], scan: _Scan, depth: int, *, case_sensitive: bool, regex: bool
) -> str | None:
    """The first key found in the scanned text (a regex key searches the text as written,
    its own flags deciding the case)."""
    for key in keys:
        if not key.strip():
            continue
        if regex or _slashed(key) is not None:
            compiled = regex_key(key, case_sensitive=case_sensitive)
            if compiled is not None and compiled.search(scan.text(depth, True)) is not None:
                return key
            continue
        needle = key.strip() if case_sensitive else key.strip().lower()
        if scan.text(depth, case_sensitive).find(needle) != -1:
            return key
    return None


@dataclass
class _Candidate:
    index: int
    entry: dict
    content: str
    keys: list[str]
    secondary: list[str]
    decorators: dict[str, str]


def _candidates(book: dict, char: str) -> list[_Candidate]:
    found = []
    entries = book.get("entries")
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, dict) or entry.get("enabled", True) is not True:
            continue
        content = entry.get("content")
        if not isinstance(content, str):
            continue
        marks, content = decorators(content)
        content = macros(content, char=char).strip()
        if not content or ("dont_activate" in marks and "activate" not in marks):
            continue
        keys = entry.get("keys") if isinstance(entry.get("keys"), list) else []
        secondary = entry.get("secondary_keys")
        secondary = secondary if isinstance(secondary, list) else []
        found.append(
            _Candidate(
                index,
                entry,
                content,
                [macros(k, char=char) for k in keys if isinstance(k, str)],
                [macros(k, char=char) for k in secondary if isinstance(k, str)],
                marks,
            )
        )
    return found


def _try(candidate: _Candidate, scan: _Scan, depth: int, source: str) -> Fired | None:
    entry = candidate.entry
    regex = entry.get("use_regex") is True
    case_sensitive = entry.get("case_sensitive") is True
    if "activate" in candidate.decorators:
        return _fired(candidate, None, None, "decorator")
    if entry.get("constant") is True and not regex:
        return _fired(candidate, None, None, "constant")
    if "scan_depth" in candidate.decorators:
        depth = _depth(int(candidate.decorators["scan_depth"]), depth)
    if not scan.text(depth, True):
        return None
    key = _first_match(candidate.keys, scan, depth, case_sensitive=case_sensitive, regex=regex)
    if key is None:
        return None
    secondary_key = None
    if entry.get("selective") is True and candidate.secondary and not regex:
        secondary_key = _first_match(
            candidate.secondary, scan, depth, case_sensitive=case_sensitive, regex=False
        )
        if secondary_key is None:
            return None
    return _fired(candidate, key, secondary_key, source)


def _fired(candidate: _Candidate, key, secondary_key, source: str) -> Fired:
    return Fired(
        candidate.index,
        candidate.entry,
        candidate.content,
        key,
        secondary_key,
        source,
        estimate_tokens(candidate.content),
    )


def lorebook_fire(
    book: object, messages: Sequence[str], *, char: str = "", user: str = DEFAULT_USER_NAME
) -> list[Fired]:
    """The entries of `book` that go into the prompt, given the chat's messages (oldest
    first), in prompt order (`insertion_order`, then their place in the book)."""
    if not isinstance(book, dict):
        return []
    depth = _depth(book.get("scan_depth"), DEFAULT_SCAN_DEPTH)
    scan = _Scan(messages)
    waiting = _candidates(book, char)
    fired: list[Fired] = []
    source = "chat"
    steps = 1 + (RECURSION_STEPS if book.get("recursive_scanning") is True else 0)
    for _ in range(steps):
        new = [hit for c in waiting if (hit := _try(c, scan, depth, source)) is not None]
        if not new:
            break
        fired.extend(new)
        done = {hit.index for hit in new}
        waiting = [c for c in waiting if c.index not in done]
        for hit in new:
            scan.add(hit.content)
        source = "recursion"
    fired = _within_budget(fired, book.get("token_budget"))
    return sorted(fired, key=lambda hit: (hit.insertion_order, hit.index))


def _within_budget(fired: list[Fired], budget: object) -> list[Fired]:
    """Drop the lowest `priority` (then lowest `insertion_order`) entries until the rest fit
    `budget` tokens; a budget that is absent or not above 0 keeps everything (editors write
    0 for "not set")."""
    limit = _number(budget, 0)
    if limit <= 0:
        return fired
    ranked = sorted(
        fired,
        key=lambda hit: (-_number(hit.entry.get("priority"), 0), -hit.insertion_order, hit.index),
    )
    kept, used = [], 0
    for hit in ranked:
        if used + hit.tokens > limit:
            break
        kept.append(hit)
        used += hit.tokens
    return kept
