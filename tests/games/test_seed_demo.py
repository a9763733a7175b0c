"""`seed_demo` (run by every `make run`) is safe to run again whatever players have made since:
it finds its own rows by keys user data cannot take, never by a name players may repeat."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from characters.models import Character
from config.management.commands.seed_demo import (
    DEMO_ADMIN_EMAIL,
    DEMO_ADMIN_PASSWORD,
    DEMO_PLAYER_EMAIL,
)
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


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_a_loopback_server_gets_the_demo_accounts(host):
    out = StringIO()
    call_command("seed_demo", "--force", "--bind", host, stdout=out)
    assert User.objects.get(email=DEMO_ADMIN_EMAIL).is_superuser
    assert User.objects.filter(email=DEMO_PLAYER_EMAIL).exists()
    assert f"admin {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}" in out.getvalue()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.org"])
def test_a_server_other_machines_reach_gets_no_account_with_a_published_password(host):
    out = StringIO()
    call_command("seed_demo", "--force", "--bind", host, stdout=out)
    assert not User.objects.exists()
    assert Game.objects.filter(pk=1).exists()  # the rest of the demo is there
    assert "no demo accounts" in out.getvalue()
    assert DEMO_ADMIN_PASSWORD not in out.getvalue()


def test_a_published_password_left_from_a_local_run_stops_a_public_start():
    call_command("seed_demo", "--force", stdout=StringIO())
    with pytest.raises(CommandError, match=r"changepassword admin@example\.com"):
        call_command("seed_demo", "--force", "--bind", "0.0.0.0", stdout=StringIO())
    for email in (DEMO_ADMIN_EMAIL, DEMO_PLAYER_EMAIL):
        user = User.objects.get(email=email)
        user.set_password("a-password-nobody-published")
        user.save()
    call_command("seed_demo", "--force", "--bind", "0.0.0.0", stdout=StringIO())


def test_make_run_tells_the_seed_where_it_will_listen():
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    assert "manage.py seed_demo --migrate --bind $(HOST)" in makefile


@pytest.mark.django_db(transaction=True)
def test_migrate_then_seed_in_one_process():
    out = StringIO()
    call_command("seed_demo", "--force", "--migrate", stdout=out)
    assert "Demo data ready" in out.getvalue()
    assert Game.objects.filter(pk=1).exists()
