import pytest

pytestmark = pytest.mark.django_db


def test_session_start_creates_game_and_progress(client):
    from tests.factories import CharacterFactory

    character = CharacterFactory()
    response = client.post(
        "/api/session/start",
        {"gameId": str(character.game_id), "userId": 5, "characterId": character.pk},
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"sessionId", "createdAt"}
    progress = client.get(f"/api/progress/{body['sessionId']}").json()
    assert progress["chapter"] == 1 and progress["step"] == 0
