"""Time formats of the families."""

from __future__ import annotations

import datetime as dt


def iso_utc(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with a trailing Z (families G, C and M)."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def unix_seconds(value: dt.datetime) -> int:
    """Whole Unix seconds (family A)."""
    return int(value.timestamp())
