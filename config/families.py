"""Which API family owns a URL path: the one table the error middleware, the fallback error
handler, the CORS settings and the tests read (CONTRACTS.md, "Families").

Plain Python with no Django import, so settings can read it. Views carry their family on their
base class (`config/api/base.py`); tests/test_families.py checks that every route's view, this
table and the CORS regex agree. Family C has no prefix of its own: its routes live under G's
`/api/characters` and A's `/api/chats` and answer in that family's envelope.
"""

from __future__ import annotations

import re

GAME = "G"
ASSISTANT = "A"
MOVIE = "M"
FAMILIES = (GAME, ASSISTANT, MOVIE)

# Ordered: the first matching prefix wins. A prefix matches the paths that start with it, and
# the prefix itself without its trailing slash ("/api/v1/" also owns "/api/v1").
ROUTE_PREFIXES: tuple[tuple[str, str], ...] = (
    ("/api/v1/", MOVIE),
    ("/api/auth/", MOVIE),
    ("/api/chats", ASSISTANT),
    ("/api/ping", ASSISTANT),
    ("/api/health", ASSISTANT),
    # Readiness (config/ready.py) answers beside the liveness check, in the same envelope.
    ("/api/ready", ASSISTANT),
    ("/api/", GAME),
)


def _matches(path: str, prefix: str) -> bool:
    return path.startswith(prefix) or path == prefix.rstrip("/")


def family_for_path(path: str) -> str | None:
    """The family that owns `path`; None outside /api/."""
    for prefix, family in ROUTE_PREFIXES:
        if _matches(path, prefix):
            return family
    return None


def _prefix_regex(prefix: str) -> str:
    if prefix.endswith("/"):
        return re.escape(prefix.rstrip("/")) + "(?:/|$)"
    return re.escape(prefix)


def path_regex(family: str) -> str:
    """A regex that matches exactly the paths `family_for_path` gives to `family`.

    Each of the family's prefixes is guarded by lookaheads that refuse the earlier prefixes of
    other families, so the regex keeps the table's first-match order.
    """
    if family not in FAMILIES:
        raise ValueError(f"Unknown API family {family!r}")
    alternatives: list[str] = []
    earlier_others: list[str] = []
    for prefix, owner in ROUTE_PREFIXES:
        if owner == family:
            guards = "".join(f"(?!{other})" for other in earlier_others)
            alternatives.append(guards + _prefix_regex(prefix))
        else:
            earlier_others.append(_prefix_regex(prefix))
    return "^(?:" + "|".join(alternatives) + ")"
