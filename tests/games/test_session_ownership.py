"""A character created with a token is that user's: nobody else starts a session with it."""

import pytest

from games.models import GameSession

pytestmark = pytest.mark.django_db


def _owned_character(auth_client) -> int:
    created = auth_client.post(
        "/api/games/55/characters", {"name": "Mira", "class": "cleric", "userId": 1}
    )
    assert created.status_code == 201
    return created.json()["id"]


def test_another_user_cannot_start_a_session_with_my_character(auth_client, other_auth_client):
    character_id = _owned_character(auth_client)
    response = other_auth_client.post(
        "/api/session/start", {"gameId": 55, "userId": 2, "characterId": character_id}
    )
    assert response.status_code == 403
    assert response.json() == {"error": "This character belongs to another user"}
    assert GameSession.objects.count() == 0


def test_anonymous_caller_cannot_start_a_session_with_an_owned_character(auth_client, client):
    character_id = _owned_character(auth_client)
    response = client.post(
        "/api/session/start", {"gameId": 55, "userId": 2, "characterId": character_id}
    )
    assert response.status_code == 401
    assert set(response.json()) == {"error"}
    assert GameSession.objects.count() == 0


def test_owner_starts_a_session_with_their_character(auth_client, user):
    character_id = _owned_character(auth_client)
    response = auth_client.post("/api/session/start", {"gameId": 55, "characterId": character_id})
    assert response.status_code == 201
    session = GameSession.objects.get()
    assert session.owner == user
    assert session.user_ref == user.public_id
