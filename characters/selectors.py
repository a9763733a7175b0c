"""Readers of characters."""

from __future__ import annotations

from characters.errors import CharacterNotFound
from characters.models import Character
from games.errors import GameNotFound
from games.models import Game


def character_get(*, character_id: int, for_update: bool = False) -> Character:
    qs = Character.objects.select_for_update() if for_update else Character.objects.all()
    try:
        return qs.get(pk=character_id)
    except Character.DoesNotExist:
        raise CharacterNotFound(f"Character {character_id} not found") from None


def character_list_for_game(*, game_id: int) -> list[Character]:
    if not Game.objects.filter(pk=game_id).exists():
        raise GameNotFound(f"Game {game_id} not found")
    return list(Character.objects.filter(game_id=game_id).order_by("created_at", "id"))


def character_representative(
    *, game_id: int, owner_id: int | None, user_ref: str | None
) -> Character:
    """The game's representative character: the caller's (by token, else by userId) when the
    caller is known and has one there, else the game's oldest."""
    qs = Character.objects.filter(game_id=game_id).order_by("created_at", "id")
    character = None
    if owner_id is not None:
        character = qs.filter(owner_id=owner_id).first()
    if character is None and user_ref:
        character = qs.filter(user_ref=user_ref).first()
    if character is None:
        character = qs.first()
    if character is None:
        raise CharacterNotFound(f"Game {game_id} has no character")
    return character
