"""A NUL in an /api/ path (`%00`) is refused before any view looks it up: PostgreSQL cannot
compare text holding NUL, so a lookup would fail inside the driver."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/session/%00", {"error": "path: Null characters are not allowed"}),
        ("/api/characters/1%00", {"error": "path: Null characters are not allowed"}),
        (
            "/api/chats/%00",
            {"statusCode": 400, "statusMessage": "path: Null characters are not allowed"},
        ),
    ],
)
def test_a_nul_in_the_path_is_a_400_in_the_familys_body(auth_client, path, body):
    response = auth_client.get(path)
    assert response.status_code == 400
    assert response.json() == body


def test_family_m_answers_in_its_envelope(auth_client):
    response = auth_client.get("/api/v1/projects/project-%00x")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["message"] == "path: Null characters are not allowed"
