"""Contract of family C's chat state (seed 002 "Chat State", CONTRACTS.md "Chats").

GET/POST /api/chats/{id}/state answer `{chat_id, state, updated_at}` (ISO 8601 UTC with Z,
null until the state is first set). The path belongs to family A: A's identity rules and
error body. Keys are limited to CHAT_STATE_KEYS; a bad update is a 400 that changes nothing.
Values here are neutral (clothing, mood, room).
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from chats.models import Chat
from tests.conftest import JsonClient
from tests.factories import CharacterFactory
from tests.helpers import json_body

pytestmark = pytest.mark.django_db

STATE_KEYS = {"chat_id", "state", "updated_at"}
UNAUTHORIZED = {"statusCode": 401, "statusMessage": "Unauthorized"}
NOT_FOUND = {"statusCode": 404, "statusMessage": "Chat not found"}
COAT = {"衣服": "a grey coat"}
CALM = {"情绪": "calm", "环境": "a quiet library"}


def assistant_error(response, status: int) -> str:
    body = json_body(response, status)
    assert set(body) == {"statusCode", "statusMessage"}, body
    assert body["statusCode"] == status
    return body["statusMessage"]


def parse_iso(value: str) -> dt.datetime:
    assert isinstance(value, str) and value.endswith("Z"), value
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def owner() -> JsonClient:
    return JsonClient()


@pytest.fixture
def chat(owner) -> dict:
    character = CharacterFactory(name="Mira", opening_line="Welcome to the reading room.")
    response = owner.post("/api/chats", {"characterId": character.pk})
    return json_body(response, 201)


def state_url(chat: dict) -> str:
    return f"/api/chats/{chat['id']}/state"


class TestGet:
    def test_a_new_chat_has_an_empty_state_and_no_update_time(self, owner, chat):
        body = json_body(owner.get(state_url(chat)))
        assert body == {"chat_id": chat["id"], "state": {}, "updated_at": None}

    def test_answers_the_stored_state(self, owner, chat):
        owner.post(state_url(chat), {"state_update": {**COAT, **CALM}})
        body = json_body(owner.get(state_url(chat)))
        assert set(body) == STATE_KEYS
        assert body["chat_id"] == chat["id"]
        assert body["state"] == {**COAT, **CALM}
        assert parse_iso(body["updated_at"]).tzinfo == dt.UTC

    def test_an_unknown_chat_is_404(self, owner, chat):
        response = owner.get(f"/api/chats/{uuid.uuid4()}/state")
        assert json_body(response, 404) == NOT_FOUND

    def test_a_malformed_id_is_404(self, owner, chat):
        assert json_body(owner.get("/api/chats/456/state"), 404) == NOT_FOUND

    def test_without_identity_is_401(self, client, chat):
        assert json_body(client.get(state_url(chat)), 401) == UNAUTHORIZED


class TestMerge:
    def test_merges_the_update_and_stamps_the_time(self, owner, chat):
        before = timezone.now().replace(microsecond=0)
        first = json_body(owner.post(state_url(chat), {"state_update": COAT}))
        assert first["state"] == COAT
        assert first["chat_id"] == chat["id"]
        assert parse_iso(first["updated_at"]) >= before
        second = json_body(
            owner.post(state_url(chat), {"state_update": {"衣服": "a blue scarf", **CALM}})
        )
        assert set(second) == STATE_KEYS
        assert second["state"] == {"衣服": "a blue scarf", **CALM}
        assert parse_iso(second["updated_at"]) >= parse_iso(first["updated_at"])
        stored = Chat.objects.get(pk=chat["id"])
        assert stored.state == second["state"]

    def test_keys_keep_the_order_of_the_allowed_set(self, owner, chat):
        owner.post(state_url(chat), {"state_update": {"环境": "a quiet library"}})
        body = json_body(owner.post(state_url(chat), {"state_update": {"衣服": "a grey coat"}}))
        assert list(body["state"]) == ["衣服", "环境"]

    def test_an_empty_string_value_is_kept(self, owner, chat):
        body = json_body(owner.post(state_url(chat), {"state_update": {"情绪": ""}}))
        assert body["state"] == {"情绪": ""}

    def test_an_unknown_key_is_400_naming_it_and_changes_nothing(self, owner, chat):
        owner.post(state_url(chat), {"state_update": COAT})
        response = owner.post(
            state_url(chat), {"state_update": {"情绪": "calm", "weather": "rain", "aura": "x"}}
        )
        message = assistant_error(response, 400)
        assert "aura, weather" in message
        assert "情绪" not in message.split(";")[0]
        assert Chat.objects.get(pk=chat["id"]).state == COAT

    @pytest.mark.parametrize(
        "body",
        [{}, {"state_update": {}}, {"state_update": None}, {"state_update": ["衣服"]}],
    )
    def test_an_empty_or_missing_update_is_400(self, owner, chat, body):
        message = assistant_error(owner.post(state_url(chat), body), 400)
        assert message == "state_update: Must be a non-empty object"
        assert Chat.objects.get(pk=chat["id"]).state_updated_at is None

    def test_a_value_that_is_not_a_string_is_400(self, owner, chat):
        response = owner.post(state_url(chat), {"state_update": {"情绪": 3, **COAT}})
        assert assistant_error(response, 400) == "state_update.情绪: Must be a string"
        assert Chat.objects.get(pk=chat["id"]).state == {}

    def test_a_value_over_2000_characters_is_400(self, owner, chat):
        response = owner.post(state_url(chat), {"state_update": {"环境": "a" * 2001}})
        assert "at most 2000 characters" in assistant_error(response, 400)
        ok = owner.post(state_url(chat), {"state_update": {"环境": "a" * 2000}})
        assert json_body(ok)["state"]["环境"] == "a" * 2000

    def test_the_allowed_set_is_a_setting(self, owner, chat, settings):
        settings.CHAT_STATE_KEYS = ("weather",)
        body = json_body(owner.post(state_url(chat), {"state_update": {"weather": "rain"}}))
        assert body["state"] == {"weather": "rain"}
        response = owner.post(state_url(chat), {"state_update": COAT})
        assert "allowed: weather" in assistant_error(response, 400)

    def test_malformed_json_is_400(self, owner, chat):
        response = owner.generic("POST", state_url(chat), "{nope", "application/json")
        assert "Malformed" in assistant_error(response, 400)

    def test_an_unknown_chat_is_404(self, owner, chat):
        response = owner.post(f"/api/chats/{uuid.uuid4()}/state", {"state_update": COAT})
        assert json_body(response, 404) == NOT_FOUND

    def test_put_is_405(self, owner, chat):
        assistant_error(owner.put(state_url(chat), {"state_update": COAT}), 405)

    def test_a_plain_assistant_chat_has_a_state_too(self, auth_client):
        created = json_body(auth_client.post("/api/chats", {"prompt": "Plan a walk"}), 201)
        body = json_body(auth_client.post(state_url(created), {"state_update": CALM}))
        assert body["state"] == CALM


@pytest.mark.parametrize("intruder_kind", ["other-cookie", "token", "nobody"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_another_identity_gets_401_and_never_the_state(request, owner, chat, intruder_kind, method):
    owner.post(state_url(chat), {"state_update": COAT})
    if intruder_kind == "other-cookie":
        intruder = JsonClient()
        json_body(intruder.post("/api/chats", {"prompt": "My own chat"}), 201)
    elif intruder_kind == "token":
        intruder = request.getfixturevalue("auth_client")
    else:
        intruder = JsonClient()
    body = {"state_update": {"衣服": "a red cloak"}} if method == "POST" else ""
    response = intruder.generic(method, state_url(chat), body)
    assert json_body(response, 401) == UNAUTHORIZED
    assert "grey coat" not in response.content.decode()
    assert Chat.objects.get(pk=chat["id"]).state == COAT


def test_a_users_chat_state_is_refused_to_another_user(auth_client, other_auth_client):
    created = json_body(auth_client.post("/api/chats", {"prompt": "Plan a walk"}), 201)
    for response in (
        other_auth_client.get(state_url(created)),
        other_auth_client.post(state_url(created), {"state_update": COAT}),
    ):
        assert json_body(response, 401) == UNAUTHORIZED
    assert json_body(auth_client.get(state_url(created)))["state"] == {}
