"""Every family answers under the production server entry point (`python -m
config.serve_uvicorn`, tests/live.py): one contract request and one error envelope each, over
a real socket."""

from __future__ import annotations

import uuid

import httpx
import pytest

from accounts.services import tokens_for_user
from tests.factories import CharacterFactory, UserFactory
from tests.live import asgi_live_server  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def http(asgi_live_server):  # noqa: F811
    with httpx.Client(base_url=asgi_live_server.url, timeout=30) as client:
        yield client


def test_family_g(http):
    character = CharacterFactory(name="Mira")
    found = http.get(f"/api/characters/{character.pk}")
    assert found.status_code == 200, found.text
    assert found.json()["name"] == "Mira"
    missing = http.get("/api/characters/999999")
    assert missing.status_code == 404
    assert missing.json() == {"error": "Character 999999 not found"}


def test_family_c(http):
    created = http.post("/api/characters", json={"name": "Wren"})
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Wren" and created.json()["opening_line"]
    chat = http.post("/api/chats", json={"characterId": created.json()["id"]})
    assert chat.status_code == 201, chat.text
    state = http.get(f"/api/chats/{chat.json()['id']}/state")
    assert state.json() == {"chat_id": chat.json()["id"], "state": {}, "updated_at": None}
    unknown = http.get(f"/api/chats/{uuid.uuid4()}/state")
    assert unknown.status_code == 404
    assert set(unknown.json()) == {"statusCode", "statusMessage"}


def test_family_a(http):
    assert http.get("/api/health").json() == "running"
    refused = http.post("/api/chats", content=b"{", headers={"Content-Type": "application/json"})
    assert refused.status_code == 400
    assert refused.json()["statusCode"] == 400


def test_family_m(http):
    token = tokens_for_user(user=UserFactory()).access
    listed = http.get("/api/v1/projects", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200, listed.text
    assert listed.json()["success"] is True
    refused = http.get("/api/v1/projects")
    assert refused.status_code == 401
    assert refused.json()["success"] is False
    assert refused.json()["error"]["code"] == "AUTH_REQUIRED"
    assert refused.headers["X-Request-ID"]
