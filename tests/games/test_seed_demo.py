"""`seed_demo` (run by every `make run`) is safe to run again whatever players have made since:
it finds its own rows by keys user data cannot take, never by a name players may repeat."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from characters.models import Character
from games.models import Game, GameSession, GameTitle
from tests.factories import GameTitleFactory

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--force", stdout=out)
    return out.getvalue()


def counts() -> tuple[int, int, int, int]:
    return (
        GameTitle.objects.count(),
        Game.objects.count(),
        Character.objects.count(),
        GameSession.objects.count(),
    )


def test_second_run_after_players_reused_demo_names_changes_nothing(client):
    # A title named like a demo one before the first run, too.
    GameTitleFactory(title="Neon Ledger")
    first = seed()
    session = GameSession.objects.get(game_id=1)
    wren = session.character
    assert wren.name == "Wren" and f"session {session.pk}" in first

    # Players make a Wren of their own in game 1, and titles named like the demo's.
    response = client.post(
        "/api/games/1/characters", {"userId": 5, "name": "Wren", "class": "bard"}
    )
    assert response.status_code == 201, response.content
    GameTitleFactory(title="The Lantern Keep")
    GameTitleFactory(title="Quiet Station")
    before = counts()

    assert seed() == first
    assert seed() == first
    assert counts() == before
    assert GameSession.objects.get(pk=session.pk).character_id == wren.pk


def test_a_deleted_demo_character_is_made_again(client):
    seed()
    session = GameSession.objects.get(game_id=1)
    response = client.delete(f"/api/characters/{session.character_id}")
    assert response.status_code in (200, 204), response.content
    seed()
    session.refresh_from_db()
    assert session.character is not None and session.character.name == "Wren"
    assert GameSession.objects.filter(game_id=1).count() == 1
