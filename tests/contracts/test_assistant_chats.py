"""Contract of family A's chat routes (seed 004, CONTRACTS.md "Chats" and "Identity").

GET/POST /api/chats, GET/PUT/DELETE /api/chats/{id}, POST /api/chats/{id}/messages. Errors are
exactly `{"statusCode", "statusMessage"}`; timestamps are integer Unix seconds. A caller
without a token gets an anonymous identity bound to its session cookie when it creates a chat;
another identity gets 401 on every chat route, never the chat.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from chats import services
from chats.models import Chat, Message
from tests.conftest import JsonClient
from tests.factories import CharacterFactory, ChatFactory, ChatMessageFactory
from tests.helpers import json_body

pytestmark = pytest.mark.django_db

COOKIE = settings.ASSISTANT_SESSION_COOKIE_NAME
CHAT_KEYS = {"id", "title", "userId", "createdAt"}
MESSAGE_KEYS = {"id", "chatId", "role", "content", "createdAt"}
UNAUTHORIZED = {"statusCode": 401, "statusMessage": "Unauthorized"}
NOT_FOUND = {"statusCode": 404, "statusMessage": "Chat not found"}


def assistant_error(response, status: int, message: str | None = None) -> str:
    """Family A's error body: exactly `{"statusCode", "statusMessage"}`."""
    body = json_body(response, status)
    assert set(body) == {"statusCode", "statusMessage"}, body
    assert body["statusCode"] == status
    assert isinstance(body["statusMessage"], str) and body["statusMessage"]
    if message is not None:
        assert body["statusMessage"] == message
    return body["statusMessage"]


def assert_unix_seconds(value) -> None:
    assert isinstance(value, int) and not isinstance(value, bool), value
    assert abs(value - time.time()) < 120


def assert_chat_summary(body: dict) -> None:
    assert set(body) == CHAT_KEYS, body
    assert str(uuid.UUID(body["id"])) == body["id"]
    assert isinstance(body["title"], str)
    assert isinstance(body["userId"], str) and body["userId"]
    assert_unix_seconds(body["createdAt"])


def assert_message(body: dict, chat_id: str) -> None:
    assert MESSAGE_KEYS <= set(body) <= MESSAGE_KEYS | {"stopped"}, body
    assert body["chatId"] == chat_id
    assert isinstance(body["id"], str) and body["id"]
    assert_unix_seconds(body["createdAt"])


def new_chat(client, prompt: str = "Plan a walk by the river", **extra) -> dict:
    return json_body(client.post("/api/chats", {"prompt": prompt, **extra}), 201)


@pytest.fixture
def anon_client() -> JsonClient:
    return JsonClient()


@pytest.fixture
def other_anon_client() -> JsonClient:
    return JsonClient()


# --- POST /api/chats -------------------------------------------------------------------------


class TestCreate:
    def test_creates_the_chat_with_the_prompt_as_first_user_message(self, anon_client):
        response = anon_client.post("/api/chats", {"prompt": "Plan a walk by the river"})
        body = json_body(response, 201)
        assert set(body) == CHAT_KEYS | {"messages"}
        assert_chat_summary({k: v for k, v in body.items() if k != "messages"})
        assert body["title"] == "Plan a walk by the river"
        assert body["userId"].startswith("anon-")
        [message] = body["messages"]
        assert set(message) == MESSAGE_KEYS
        assert_message(message, body["id"])
        assert message["id"].startswith("msg-")
        assert (message["role"], message["content"]) == ("user", "Plan a walk by the river")
        chat = Chat.objects.get(pk=body["id"])
        assert chat.owner is None and chat.anon_id == body["userId"]

    def test_first_chat_sets_an_http_only_session_cookie_bound_to_the_database(self, anon_client):
        response = anon_client.post("/api/chats", {"prompt": "Hello"})
        cookie = response.cookies[COOKIE]
        assert cookie.value
        assert cookie["httponly"] is True
        assert cookie["path"] == "/api/chats"
        assert int(cookie["max-age"]) == settings.ASSISTANT_SESSION_AGE
        # Plain HTTP: browsers refuse SameSite=None without Secure, so Lax.
        assert cookie["samesite"] == "Lax"
        assert not cookie["secure"]
        session = Session.objects.get(session_key=cookie.value)
        assert session.get_decoded()["chat_anon_id"] == response.json()["userId"]

    def test_over_https_the_cookie_is_cross_site(self, anon_client):
        response = anon_client.post("/api/chats", {"prompt": "Hello"}, secure=True)
        cookie = response.cookies[COOKIE]
        assert cookie["samesite"] == "None"
        assert cookie["secure"] is True

    def test_the_identity_is_kept_by_later_requests(self, anon_client):
        first = new_chat(anon_client)
        response = anon_client.post("/api/chats", {"prompt": "Second"})
        second = json_body(response, 201)
        assert COOKIE not in response.cookies
        assert second["userId"] == first["userId"]
        assert Session.objects.count() == 1

    def test_the_identity_survives_a_restart(self, anon_client):
        """The session lives in the database: a fresh client with the cookie is the owner."""
        chat = new_chat(anon_client)
        fresh = JsonClient()
        fresh.cookies[COOKIE] = anon_client.cookies[COOKIE].value
        assert json_body(fresh.get(f"/api/chats/{chat['id']}"))["id"] == chat["id"]

    def test_an_unknown_session_cookie_starts_a_new_identity(self, anon_client):
        anon_client.cookies[COOKIE] = "not-a-session-key-we-issued"
        response = anon_client.post("/api/chats", {"prompt": "Hello"})
        body = json_body(response, 201)
        assert body["userId"].startswith("anon-")
        assert response.cookies[COOKIE].value != "not-a-session-key-we-issued"

    def test_a_token_names_the_user_and_sets_no_cookie(self, auth_client, user):
        response = auth_client.post("/api/chats", {"prompt": "Hello"})
        body = json_body(response, 201)
        assert body["userId"] == user.public_id
        assert COOKIE not in response.cookies
        assert Chat.objects.get(pk=body["id"]).owner == user

    def test_an_invalid_token_is_401_even_with_a_cookie(self, anon_client):
        new_chat(anon_client)
        anon_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
        response = anon_client.post("/api/chats", {"prompt": "Hello"})
        assistant_error(response, 401)
        assert Chat.objects.count() == 1

    @pytest.mark.parametrize(
        "body",
        [{}, {"prompt": ""}, {"prompt": "   "}, {"prompt": None}, {"prompt": 5}, {"text": "x"}],
    )
    def test_a_missing_or_invalid_prompt_is_400_and_creates_nothing(self, anon_client, body):
        response = anon_client.post("/api/chats", body)
        assistant_error(response, 400, "Missing prompt")
        assert COOKIE not in response.cookies
        assert not Chat.objects.exists()
        assert not Session.objects.exists()

    def test_the_title_is_one_trimmed_line_of_at_most_100_characters(self, anon_client):
        prompt = "  Plan\n a   walk " + "x" * 200
        body = new_chat(anon_client, prompt)
        assert body["title"] == ("Plan a walk " + "x" * 200)[:100]
        assert body["messages"][0]["content"] == prompt

    def test_a_prompt_over_32_kib_is_413(self, anon_client):
        response = anon_client.post("/api/chats", {"prompt": "é" * (16 * 1024 + 1)})
        assistant_error(response, 413)
        assert not Chat.objects.exists()

    def test_a_body_that_is_not_an_object_is_400(self, anon_client):
        assistant_error(anon_client.post("/api/chats", [1, 2]), 400)

    def test_malformed_json_is_400_in_the_assistant_body(self, anon_client):
        response = anon_client.generic("POST", "/api/chats", "{bad", "application/json")
        assert "Malformed" in assistant_error(response, 400)

    def test_a_body_that_is_not_json_is_415(self, anon_client):
        response = anon_client.generic("POST", "/api/chats", "prompt=hi", "text/plain")
        assistant_error(response, 415)


class TestCreateWithCharacter:
    def test_starts_with_the_cached_opening_line_and_needs_no_prompt(self, anon_client):
        character = CharacterFactory(name="Mira", opening_line="Welcome to the lighthouse.")
        body = new_chat(anon_client, characterId=character.pk, prompt=None)
        assert body["title"] == "Mira"
        [opening] = body["messages"]
        assert (opening["role"], opening["content"]) == ("assistant", "Welcome to the lighthouse.")
        assert Chat.objects.get(pk=body["id"]).character == character

    def test_a_prompt_is_stored_after_the_opening_line(self, anon_client):
        character = CharacterFactory(name="Mira", opening_line="Welcome.")
        response = anon_client.post(
            "/api/chats", {"characterId": str(character.pk), "prompt": "Hello, Mira"}
        )
        body = json_body(response, 201)
        assert body["title"] == "Hello, Mira"
        assert [(m["role"], m["content"]) for m in body["messages"]] == [
            ("assistant", "Welcome."),
            ("user", "Hello, Mira"),
        ]

    def test_an_omitted_or_blank_prompt_is_fine_with_a_character(self, anon_client):
        character = CharacterFactory(opening_line="Welcome.")
        for body in ({"characterId": character.pk}, {"characterId": character.pk, "prompt": ""}):
            created = json_body(anon_client.post("/api/chats", body), 201)
            assert [m["role"] for m in created["messages"]] == ["assistant"]

    def test_a_character_without_an_opening_line_starts_empty(self, anon_client):
        character = CharacterFactory(name="Quiet", opening_line="")
        body = json_body(anon_client.post("/api/chats", {"characterId": character.pk}), 201)
        assert body["messages"] == []
        assert body["title"] == "Quiet"

    def test_an_unknown_character_is_400(self, anon_client):
        response = anon_client.post("/api/chats", {"characterId": 999999, "prompt": "Hi"})
        assistant_error(response, 400, "characterId: character 999999 not found")
        assert not Chat.objects.exists()

    def test_a_malformed_character_id_is_400(self, anon_client):
        response = anon_client.post("/api/chats", {"characterId": "abc", "prompt": "Hi"})
        assert assistant_error(response, 400).startswith("characterId:")

    def test_a_non_string_prompt_is_still_400_with_a_character(self, anon_client):
        character = CharacterFactory()
        response = anon_client.post("/api/chats", {"characterId": character.pk, "prompt": 3})
        assistant_error(response, 400, "Missing prompt")


# --- GET /api/chats --------------------------------------------------------------------------


class TestList:
    def test_without_an_identity_is_401(self, client):
        assert client.get("/api/chats").json() == UNAUTHORIZED
        assistant_error(client.get("/api/chats"), 401, "Unauthorized")

    def test_lists_only_the_callers_chats_newest_first(self, anon_client, other_anon_client):
        first = new_chat(anon_client, "First")
        second = new_chat(anon_client, "Second")
        new_chat(other_anon_client, "Not mine")
        # Created in the same second: order by the stored instant, not the rounded one.
        Chat.objects.filter(pk=second["id"]).update(created_at=timezone.now() + dt.timedelta(1))
        Chat.objects.filter(pk=first["id"]).update(created_at=timezone.now())
        body = json_body(anon_client.get("/api/chats"))
        assert [(c["id"], c["title"]) for c in body] == [
            (second["id"], "Second"),
            (first["id"], "First"),
        ]
        for item in body:
            assert set(item) == CHAT_KEYS
            assert item["userId"] == first["userId"]
            assert isinstance(item["createdAt"], int) and not isinstance(item["createdAt"], bool)
        assert body[0]["createdAt"] - body[1]["createdAt"] in range(86399, 86402)

    def test_a_user_lists_their_chats(self, auth_client, other_auth_client, user):
        mine = new_chat(auth_client, "Mine")
        new_chat(other_auth_client, "Theirs")
        body = json_body(auth_client.get("/api/chats"))
        assert body == [
            {
                "id": mine["id"],
                "title": "Mine",
                "userId": user.public_id,
                "createdAt": mine["createdAt"],
            }
        ]

    def test_a_user_with_no_chats_gets_an_empty_list(self, auth_client):
        assert json_body(auth_client.get("/api/chats")) == []

    def test_cookie_list_is_one_query_whatever_its_length(
        self, anon_client, django_assert_num_queries
    ):
        chat = new_chat(anon_client)
        for _ in range(5):
            ChatFactory(anon_id=chat["userId"])
        with django_assert_num_queries(1):  # the chats (the session comes from the cache)
            body = json_body(anon_client.get("/api/chats"))
        assert len(body) == 6

    def test_token_list_is_two_queries_whatever_its_length(
        self, auth_client, user, django_assert_num_queries
    ):
        for _ in range(5):
            ChatFactory(owner=user)
        with django_assert_num_queries(2):  # the user, the chats
            body = json_body(auth_client.get("/api/chats"))
        assert len(body) == 5
        assert {item["userId"] for item in body} == {user.public_id}


# --- GET /api/chats/{id} -----------------------------------------------------------------------


class TestDetail:
    def test_answers_the_chat_with_every_message_in_order(self, anon_client):
        chat = new_chat(anon_client, "Plan a walk")
        for client_id, role, content in (
            ("msg-2", "assistant", "Start at the old bridge."),
            ("msg-3", "user", "And then?"),
        ):
            anon_client.post(
                f"/api/chats/{chat['id']}/messages",
                {"id": client_id, "role": role, "content": content},
            )
        body = json_body(anon_client.get(f"/api/chats/{chat['id']}"))
        assert set(body) == CHAT_KEYS | {"messages"}
        assert {k: body[k] for k in CHAT_KEYS} == {k: chat[k] for k in CHAT_KEYS}
        assert [(m["id"], m["role"], m["content"]) for m in body["messages"]] == [
            (chat["messages"][0]["id"], "user", "Plan a walk"),
            ("msg-2", "assistant", "Start at the old bridge."),
            ("msg-3", "user", "And then?"),
        ]
        for message in body["messages"]:
            assert set(message) == MESSAGE_KEYS
            assert_message(message, chat["id"])

    def test_a_stopped_reply_says_so(self, anon_client):
        chat = new_chat(anon_client)
        services.reply_store(chat["id"], "reply-1", "Start at the", stopped=True)
        messages = json_body(anon_client.get(f"/api/chats/{chat['id']}"))["messages"]
        assert messages[-1]["stopped"] is True
        assert "stopped" not in messages[0]

    def test_is_two_queries_for_a_token_caller(self, auth_client, user, django_assert_num_queries):
        chat = ChatFactory(owner=user)
        ChatMessageFactory.create_batch(4, chat=chat)
        with django_assert_num_queries(3):  # the user, the chat, its messages
            body = json_body(auth_client.get(f"/api/chats/{chat.pk}"))
        assert len(body["messages"]) == 4

    def test_an_unknown_id_is_404(self, anon_client):
        new_chat(anon_client)
        response = anon_client.get(f"/api/chats/{uuid.uuid4()}")
        assert json_body(response, 404) == NOT_FOUND

    @pytest.mark.parametrize("chat_id", ["abc", "123", "550e8400-e29b-41d4-a716-44665544000Z"])
    def test_a_malformed_id_is_404(self, anon_client, chat_id):
        new_chat(anon_client)
        assert json_body(anon_client.get(f"/api/chats/{chat_id}"), 404) == NOT_FOUND

    def test_an_id_in_upper_case_names_the_same_chat(self, anon_client):
        chat = new_chat(anon_client)
        body = json_body(anon_client.get(f"/api/chats/{chat['id'].upper()}"))
        assert body["id"] == chat["id"]

    def test_without_an_identity_is_401_even_for_an_unknown_id(self, client):
        assert json_body(client.get(f"/api/chats/{uuid.uuid4()}"), 401) == UNAUTHORIZED

    def test_an_unsupported_method_is_405(self, anon_client):
        chat = new_chat(anon_client)
        response = anon_client.patch(f"/api/chats/{chat['id']}", {"title": "x"})
        assistant_error(response, 405)
        assert "PUT" in response["Allow"]


# --- PUT /api/chats/{id} -----------------------------------------------------------------------


class TestUpdate:
    def test_the_seed_body_sets_the_title_from_content(self, anon_client):
        chat = new_chat(anon_client)
        response = anon_client.put(
            f"/api/chats/{chat['id']}", {"content": "New Chat Title", "role": "assistant"}
        )
        body = json_body(response)
        assert body == {**{k: chat[k] for k in CHAT_KEYS}, "title": "New Chat Title"}
        assert Chat.objects.get(pk=chat["id"]).title == "New Chat Title"
        assert Message.objects.filter(chat_id=chat["id"]).count() == 1

    def test_title_is_accepted_and_wins_over_content(self, anon_client):
        chat = new_chat(anon_client)
        body = json_body(
            anon_client.put(f"/api/chats/{chat['id']}", {"title": " Walks ", "content": "x"})
        )
        assert body["title"] == "Walks"

    def test_a_long_title_is_capped(self, anon_client):
        chat = new_chat(anon_client)
        body = json_body(anon_client.put(f"/api/chats/{chat['id']}", {"content": "t" * 300}))
        assert body["title"] == "t" * 100

    @pytest.mark.parametrize("body", [{}, {"content": ""}, {"content": "  "}, {"title": 5}])
    def test_a_missing_title_is_400_and_changes_nothing(self, anon_client, body):
        chat = new_chat(anon_client, "Kept")
        assistant_error(anon_client.put(f"/api/chats/{chat['id']}", body), 400, "Missing title")
        assert Chat.objects.get(pk=chat["id"]).title == "Kept"

    def test_malformed_json_is_400(self, anon_client):
        chat = new_chat(anon_client)
        response = anon_client.generic(
            "PUT", f"/api/chats/{chat['id']}", "{nope", "application/json"
        )
        assistant_error(response, 400)

    def test_an_unknown_id_is_404(self, anon_client):
        new_chat(anon_client)
        response = anon_client.put(f"/api/chats/{uuid.uuid4()}", {"content": "x"})
        assert json_body(response, 404) == NOT_FOUND


# --- DELETE /api/chats/{id} --------------------------------------------------------------------


class TestDelete:
    def test_answers_the_deleted_chat_and_cascades_to_its_messages(self, anon_client):
        chat = new_chat(anon_client)
        anon_client.post(
            f"/api/chats/{chat['id']}/messages",
            {"id": "msg-2", "role": "assistant", "content": "x"},
        )
        body = json_body(anon_client.delete(f"/api/chats/{chat['id']}"))
        assert body == {k: chat[k] for k in CHAT_KEYS}
        assert not Chat.objects.filter(pk=chat["id"]).exists()
        assert not Message.objects.filter(chat_id=chat["id"]).exists()
        assert json_body(anon_client.get(f"/api/chats/{chat['id']}"), 404) == NOT_FOUND
        assert json_body(anon_client.get("/api/chats")) == []

    def test_deleting_twice_is_404(self, anon_client):
        chat = new_chat(anon_client)
        anon_client.delete(f"/api/chats/{chat['id']}")
        assert json_body(anon_client.delete(f"/api/chats/{chat['id']}"), 404) == NOT_FOUND


# --- POST /api/chats/{id}/messages ---------------------------------------------------------------


class TestSaveMessage:
    def test_saves_an_assistant_message_as_sent(self, anon_client):
        chat = new_chat(anon_client)
        response = anon_client.post(
            f"/api/chats/{chat['id']}/messages",
            {"id": "msg-2", "role": "assistant", "content": "# Walks\n\nStart at the bridge."},
        )
        body = json_body(response)
        assert set(body) == MESSAGE_KEYS
        assert_message(body, chat["id"])
        assert (body["id"], body["role"], body["content"]) == (
            "msg-2",
            "assistant",
            "# Walks\n\nStart at the bridge.",
        )

    @pytest.mark.parametrize("role", ["user", "assistant", "system"])
    def test_every_role_with_an_id_is_saved(self, anon_client, role):
        chat = new_chat(anon_client)
        body = json_body(
            anon_client.post(
                f"/api/chats/{chat['id']}/messages", {"id": "m-1", "role": role, "content": "hi"}
            )
        )
        assert body["role"] == role
        assert Message.objects.get(chat_id=chat["id"], client_id="m-1").role == role

    def test_a_user_message_without_id_gets_a_server_id(self, anon_client):
        chat = new_chat(anon_client)
        body = json_body(
            anon_client.post(
                f"/api/chats/{chat['id']}/messages", {"role": "user", "content": "And then?"}
            )
        )
        assert body["id"].startswith("msg-") and body["id"] != chat["messages"][0]["id"]
        assert Message.objects.filter(chat_id=chat["id"]).count() == 2

    def test_saving_an_id_again_updates_it(self, anon_client):
        chat = new_chat(anon_client)
        url = f"/api/chats/{chat['id']}/messages"
        first = json_body(
            anon_client.post(url, {"id": "msg-2", "role": "assistant", "content": "Start"})
        )
        second = json_body(
            anon_client.post(url, {"id": "msg-2", "role": "system", "content": "Start here."})
        )
        assert (second["id"], second["role"], second["content"]) == (
            "msg-2",
            "system",
            "Start here.",
        )
        assert second["createdAt"] == first["createdAt"]
        stored = Message.objects.filter(chat_id=chat["id"], client_id="msg-2")
        assert stored.count() == 1
        assert (stored.get().role, stored.get().content) == ("system", "Start here.")

    def test_the_same_id_in_two_chats_is_two_messages(self, anon_client):
        one, two = new_chat(anon_client), new_chat(anon_client)
        for chat in (one, two):
            anon_client.post(
                f"/api/chats/{chat['id']}/messages",
                {"id": "msg-2", "role": "assistant", "content": chat["id"]},
            )
        assert Message.objects.filter(client_id="msg-2").count() == 2

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (
                {"role": "robot", "content": "x"},
                "Invalid message data: role: Must be one of user, assistant, system",
            ),
            ({"content": "x"}, "Invalid message data: role: This field is required"),
            ({"role": "user"}, "Invalid message data: content: This field is required"),
            ({"role": "user", "content": 5}, "Invalid message data: content: Must be a string"),
            (
                {"role": "user", "content": ""},
                "Invalid message data: content: This field may not be blank",
            ),
            (
                {"id": 7, "role": "user", "content": "x"},
                "Invalid message data: id: Must be a string",
            ),
            (
                {"id": "", "role": "user", "content": "x"},
                "Invalid message data: id: This field may not be blank",
            ),
            (
                {"id": "m" * 129, "role": "user", "content": "x"},
                "Invalid message data: id: Ensure this field has no more than 128 characters",
            ),
        ],
    )
    def test_invalid_message_data_is_400_naming_the_field(self, anon_client, body, message):
        chat = new_chat(anon_client)
        response = anon_client.post(f"/api/chats/{chat['id']}/messages", body)
        assistant_error(response, 400, message)
        assert Message.objects.filter(chat_id=chat["id"]).count() == 1

    def test_content_of_exactly_32_kib_is_saved_and_one_byte_more_is_413(self, anon_client):
        chat = new_chat(anon_client)
        url = f"/api/chats/{chat['id']}/messages"
        ok = anon_client.post(url, {"id": "big", "role": "user", "content": "a" * 32768})
        assert json_body(ok)["content"] == "a" * 32768
        too_big = anon_client.post(url, {"id": "bigger", "role": "user", "content": "é" * 16385})
        assert "32768" in assistant_error(too_big, 413)
        assert not Message.objects.filter(client_id="bigger").exists()

    def test_malformed_json_is_400(self, anon_client):
        chat = new_chat(anon_client)
        response = anon_client.generic(
            "POST", f"/api/chats/{chat['id']}/messages", "{nope", "application/json"
        )
        assistant_error(response, 400)

    def test_an_unknown_chat_is_404(self, anon_client):
        new_chat(anon_client)
        response = anon_client.post(
            f"/api/chats/{uuid.uuid4()}/messages", {"role": "user", "content": "x"}
        )
        assert json_body(response, 404) == NOT_FOUND

    def test_a_message_of_a_chat_without_identity_is_401(self, client):
        response = client.post(
            f"/api/chats/{uuid.uuid4()}/messages", {"role": "user", "content": "x"}
        )
        assert json_body(response, 401) == UNAUTHORIZED

    def test_get_is_405(self, anon_client):
        chat = new_chat(anon_client)
        assistant_error(anon_client.get(f"/api/chats/{chat['id']}/messages"), 405)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_saves_of_one_id_leave_one_message():
    """Both saves succeed (no unique-constraint 500) and the row holds one of them."""
    owner = JsonClient()
    chat = new_chat(owner)
    cookie = owner.cookies[COOKIE].value
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def save(content: str) -> None:
        client = JsonClient()
        client.cookies[COOKIE] = cookie
        barrier.wait()
        try:
            response = client.post(
                f"/api/chats/{chat['id']}/messages",
                {"id": "msg-race", "role": "assistant", "content": content},
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(f"reply {n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200, 200]
    [message] = Message.objects.filter(chat_id=chat["id"], client_id="msg-race")
    assert message.content in {"reply 0", "reply 1"}


# --- Another identity: 401 on every route, never the chat ----------------------------------------


def _owner_and_intruder(kind: str, request) -> tuple[JsonClient, JsonClient]:
    anon = request.getfixturevalue("anon_client")
    other_anon = request.getfixturevalue("other_anon_client")
    if kind == "anon-vs-anon":
        new_chat(other_anon, "Intruder's own chat")
        return anon, other_anon
    if kind == "anon-vs-user":
        return anon, request.getfixturevalue("auth_client")
    if kind == "user-vs-user":
        return request.getfixturevalue("auth_client"), request.getfixturevalue("other_auth_client")
    if kind == "user-vs-anon":
        new_chat(other_anon, "Intruder's own chat")
        return request.getfixturevalue("auth_client"), other_anon
    return anon, JsonClient()  # anon-vs-nobody


INTRUSIONS = ["anon-vs-anon", "anon-vs-user", "user-vs-user", "user-vs-anon", "anon-vs-nobody"]
ROUTES = [
    ("GET", "", None),
    ("PUT", "", {"content": "Taken over"}),
    ("DELETE", "", None),
    ("POST", "/messages", {"id": "msg-x", "role": "assistant", "content": "Injected"}),
    ("POST", "/messages", {"role": "user", "content": "Injected"}),
]


@pytest.mark.parametrize("kind", INTRUSIONS)
@pytest.mark.parametrize(("method", "suffix", "body"), ROUTES)
def test_another_identity_gets_401_and_never_the_chat(request, kind, method, suffix, body):
    owner, intruder = _owner_and_intruder(kind, request)
    chat = new_chat(owner, "Private plans")
    url = f"/api/chats/{chat['id']}{suffix}"
    response = intruder.generic(method, url, body if body is not None else "")
    assert json_body(response, 401) == UNAUTHORIZED
    assert "Private plans" not in response.content.decode()
    stored = Chat.objects.get(pk=chat["id"])
    assert stored.title == "Private plans"
    assert Message.objects.filter(chat_id=chat["id"]).count() == 1
    assert [c["id"] for c in json_body(owner.get("/api/chats"))] == [chat["id"]]
    if kind != "anon-vs-nobody":
        assert chat["id"] not in {c["id"] for c in json_body(intruder.get("/api/chats"))}
