"""Readers of characters. Readers that answer a caller take it (`actor`: the token's user, or
None) and filter by `games.access`, the one place family G's ownership rule lives."""

from __future__ import annotations

from accounts.models import User
from characters import card_files, cards
from characters.errors import CharacterNotFound
from characters.models import Character
from games import access
from games.errors import GameNotFound
from games.models import Game


def character_get(
    *, character_id: int, actor: User | None = None, for_update: bool = False
) -> Character:
    """A character `actor` may see (None: a caller without a token); another user's, when
    ownership is private, is not found, as an unknown id."""
    qs = Character.objects.filter(access.visible(actor))
    if for_update:
        qs = qs.select_for_update()
    try:
        return qs.get(pk=character_id)
    except Character.DoesNotExist:
        raise CharacterNotFound(f"Character {character_id} not found") from None


def character_list_for_game(*, game_id: int, actor: User | None) -> list[Character]:
    """The game's characters `actor` may see, oldest first."""
    if not Game.objects.filter(pk=game_id).exists():
        raise GameNotFound(f"Game {game_id} not found")
    qs = Character.objects.filter(access.visible(actor), game_id=game_id)
    return list(qs.order_by("created_at", "id"))


def character_representative(
    *, game_id: int, actor: User | None, user_ref: str | None
) -> Character:
    """The game's representative character among those `actor` may see: the caller's (by
    token, else by userId) when the caller is known and has one there, else the oldest."""
    qs = Character.objects.filter(access.visible(actor), game_id=game_id).order_by(
        "created_at", "id"
    )
    character = None
    if actor is not None:
        character = qs.filter(owner=actor).first()
    if character is None and user_ref:
        character = qs.filter(user_ref=user_ref).first()
    if character is None:
        character = qs.first()
    if character is None:
        raise CharacterNotFound(f"Game {game_id} has no character")
    return character


def character_card(*, character_id: int, actor: User | None) -> dict:
    """The character `actor` may see as a V3 card (`GET /api/characters/{id}/card`)."""
    return cards.card_v3(character_get(character_id=character_id, actor=actor))


def character_card_png(*, character_id: int, actor: User | None) -> tuple[Character, bytes]:
    """The character `actor` may see, and its card PNG: its imported image (a generated one
    when it has none) with the `chara` (V2) and `ccv3` (V3) chunks."""
    character = character_get(character_id=character_id, actor=actor)
    return character, card_files.card_png(character, card_files.avatar_read(character.pk))


def character_avatar(*, character_id: int, actor: User | None) -> bytes:
    """The image of the card the character was imported from; 404 when it has none."""
    character = character_get(character_id=character_id, actor=actor)
    image = card_files.avatar_read(character.pk)
    if image is None:
        raise CharacterNotFound(f"Character {character_id} has no imported image")
    return image
