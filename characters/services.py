"""Writers of characters (family G's sheet; C's opening line arrives with its issue)."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from accounts.ownership import ensure_may_change
from characters import selectors
from characters.errors import InvalidCharacter
from characters.health import DEFAULT_STAT, resolve_health
from characters.models import STAT_KEYS, Character
from games.services import game_get_or_create

SHEET_FIELDS = {
    "name": "name",
    "class": "character_class",
    "level": "level",
    "inventory": "inventory",
    "avatar": "avatar",
}


def default_stats() -> dict:
    return dict.fromkeys(STAT_KEYS, DEFAULT_STAT)


@transaction.atomic
def character_create_in_game(*, game_id: int, data: dict, actor: User | None) -> Character:
    """Create a character in a game (the game is created on first reference)."""
    game = game_get_or_create(game_id=game_id)
    user_ref = data.get("userId")
    if user_ref is None:
        if actor is None:
            raise InvalidCharacter("userId: This field is required.")
        user_ref = actor.public_id
    character = Character(game=game, user_ref=user_ref, owner=actor, stats=default_stats())
    _apply_sheet(character, data)
    character.save()
    return character


@transaction.atomic
def character_update(*, character_id: int, data: dict, actor: User | None) -> Character:
    """Patch a character's sheet; stats merge key by key; health follows characters.health."""
    character = selectors.character_get(character_id=character_id, for_update=True)
    ensure_may_change(owner_id=character.owner_id, actor=actor, what="This character")
    _apply_sheet(character, data)
    character.save()
    return character


@transaction.atomic
def character_delete(*, character_id: int, actor: User | None) -> None:
    character = selectors.character_get(character_id=character_id, for_update=True)
    ensure_may_change(owner_id=character.owner_id, actor=actor, what="This character")
    character.delete()


def _apply_sheet(character: Character, data: dict) -> None:
    """Copy sheet fields onto the character; stats merge by key; health per characters.health
    (computed when the character has none yet)."""
    for key, attr in SHEET_FIELDS.items():
        if key in data:
            setattr(character, attr, data[key])
    if "stats" in data:
        character.stats = {**(character.stats or {}), **data["stats"]}
    if "health" in data or "maxHealth" in data or not character.health:
        character.health = resolve_health(
            current_health=character.health or None,
            health=data.get("health"),
            max_health=data.get("maxHealth"),
            level=character.level,
            stats=character.stats,
        )
