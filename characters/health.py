"""Hit points: one stored `{current, max}`, several accepted input forms, one formula.

When a character is created without `health` or `maxHealth`, its maximum is

    max = 10 + 5 * level + 2 * strength        (strength defaults to 10)

and it starts at full health. `current` is never negative and never above `max`.
"""

from __future__ import annotations

from characters.errors import InvalidCharacter

DEFAULT_STAT = 10


def max_health_for(*, level: int, stats: dict) -> int:
    return 10 + 5 * level + 2 * int(stats.get("strength", DEFAULT_STAT))


def resolve_health(
    *,
    current_health: dict | None,
    health: int | dict | None,
    max_health: int | None,
    level: int,
    stats: dict,
) -> dict:
    """Combine the stored health with the `health`/`maxHealth` inputs into `{current, max}`.

    - nothing stored, nothing given: the formula above, at full health;
    - `maxHealth` alone: a new maximum; current is clamped to it (or full, on create);
    - `health` as a number: the new current value, which must not exceed the maximum;
    - `health` as `{current, max}`: both at once (`maxHealth`, if also sent, must agree).
    """
    stored = current_health or {}
    new_max = stored.get("max")
    new_current = stored.get("current")
    if isinstance(health, dict):
        if max_health is not None and "max" in health and health["max"] != max_health:
            raise InvalidCharacter("health.max and maxHealth disagree")
        new_max = health.get("max", max_health if max_health is not None else new_max)
        new_current = health.get("current", new_current)
    else:
        if max_health is not None:
            new_max = max_health
        if health is not None:
            new_current = health
    if new_max is None:
        new_max = max_health_for(level=level, stats=stats)
    if new_current is None:
        new_current = new_max
    # Only a current value the client actually sent is refused when too high; a lowered
    # maximum (`maxHealth` or `{"max": n}` alone) clamps the stored current instead.
    explicit_current = (isinstance(health, dict) and "current" in health) or (
        health is not None and not isinstance(health, dict)
    )
    if new_current > new_max:
        if explicit_current:
            raise InvalidCharacter(f"health {new_current} exceeds maxHealth {new_max}")
        new_current = new_max
    return {"current": new_current, "max": new_max}
