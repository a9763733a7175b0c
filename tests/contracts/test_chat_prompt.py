"""Contract of `GET /api/chats/{id}/messages/{messageId}/prompt` (beyond the seeds;
CONTRACTS.md "Chats"): what was sent to the model for a reply (the system prompt first),
the lorebook entries that fired and on which key, the model, and tokens per part, after
SillyTavern's prompt itemisation. The chat's owner only; everyone else gets A's 404.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings

from ai.engine import estimate_tokens
from chats.models import Message, MessageRole
from chats.prompt_selectors import NO_PROMPT
from chats.prompts import ASSISTANT_PROMPT, CHARACTER_PROMPT
from config.asgi import application
from tests.conftest import JsonClient
from tests.factories import CharacterFactory
from tests.helpers import json_body

pytestmark = pytest.mark.django_db(transaction=True)

RECORD_KEYS = {"messageId", "model", "provider", "messages", "lorebook", "tokens", "history"}
CHAT_NOT_FOUND = {"statusCode": 404, "statusMessage": "Chat not found"}
MESSAGE_NOT_FOUND = {"statusCode": 404, "statusMessage": "Message not found"}
LAMP = "The lamp burns whale oil and is lit at dusk."
DISABLED = "This entry is switched off."
ALWAYS = "The coast is foggy in autumn."
BOOK = {
    "name": "Lighthouse lore",
    "extensions": {},
    "entries": [
        {
            "id": 7,
            "name": "lamp",
            "comment": "how the lamp works",
            "keys": ["harbour", "lamp"],
            "content": LAMP,
            "extensions": {},
            "enabled": True,
            "insertion_order": 1,
            "position": "before_char",
        },
        {
            "keys": ["lamp"],
            "content": DISABLED,
            "extensions": {},
            "enabled": False,
            "insertion_order": 0,
        },
        {
            "keys": [],
            "content": ALWAYS,
            "extensions": {},
            "enabled": True,
            "insertion_order": 2,
            "constant": True,
            "position": "after_char",
        },
    ],
}


def prompt_url(chat_id, message_id) -> str:
    return f"/api/chats/{chat_id}/messages/{message_id}/prompt"


@pytest.fixture
async def http():
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://testserver", timeout=10
    ) as client:
        yield client


@database_sync_to_async
def last_message(chat_id) -> Message:
    return Message.objects.filter(chat_id=chat_id).order_by("created_at", "pk").last()


async def character_reply(http, **character_fields) -> tuple[dict, Message]:
    character = await database_sync_to_async(CharacterFactory)(
        name="Mira", description="Keeper of the light", opening_line="Welcome.",
        **character_fields,
    )  # fmt: skip
    chat = (await http.post("/api/chats", json={"characterId": character.pk})).json()
    response = await http.post(
        f"/api/chats/{chat['id']}/messages",
        json={"role": "user", "content": "Is the LAMP lit tonight?"},
    )
    assert response.status_code == 200, response.text
    reply = await last_message(chat["id"])
    assert reply.role == MessageRole.ASSISTANT
    return chat, reply


def stream_reply_id(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("data: {"):
            data = json.loads(line[len("data: ") :])
            if data["type"] == "start":
                return data["messageId"]
    raise AssertionError(text)


async def test_a_fired_entry_is_in_the_prompt_and_a_disabled_one_is_not(http):
    card = {"post_history_instructions": "Answer in one sentence."}
    chat, reply = await character_reply(http, character_book=BOOK, card=card)

    response = await http.get(prompt_url(chat["id"], reply.client_id))

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == RECORD_KEYS
    assert body["messageId"] == reply.client_id
    assert body["model"] == django_settings.AI_TASKS["dialogue"]["model"]
    assert body["provider"] == "offline"
    system = body["messages"][0]
    assert system["role"] == "system"
    lines = system["content"].split("\n")
    assert lines == [
        CHARACTER_PROMPT.format(name="Mira"),
        LAMP,
        "Character: Mira",
        "Description: Keeper of the light",
        ALWAYS,
    ]
    assert DISABLED not in json.dumps(body)
    assert body["messages"][1:] == [
        {"role": "assistant", "content": "Welcome."},
        {"role": "user", "content": "Is the LAMP lit tonight?"},
        {"role": "system", "content": "Answer in one sentence."},
    ]
    assert body["lorebook"] == [
        {
            "entry": 7,
            "index": 0,
            "name": "lamp",
            "comment": "how the lamp works",
            "key": "lamp",
            "secondaryKey": None,
            "source": "chat",
            "position": "before_char",
            "insertionOrder": 1,
            "tokens": estimate_tokens(LAMP),
        },
        {
            "entry": 2,
            "index": 2,
            "name": None,
            "comment": None,
            "key": None,
            "secondaryKey": None,
            "source": "constant",
            "position": "after_char",
            "insertionOrder": 2,
            "tokens": estimate_tokens(ALWAYS),
        },
    ]
    history = estimate_tokens("Welcome.") + estimate_tokens("Is the LAMP lit tonight?")
    post = estimate_tokens("Answer in one sentence.")
    assert body["tokens"] == {
        "system": estimate_tokens(system["content"]),
        "lorebook": estimate_tokens(LAMP) + estimate_tokens(ALWAYS),
        "history": history,
        "postHistory": post,
        "total": estimate_tokens(system["content"]) + history + post,
    }
    assert body["history"] == {"sent": 2, "dropped": 0}


async def test_the_record_is_what_the_model_received(http, fake_openai, settings):
    settings.ASSISTANT_MODELS = ("model-on-the-list",)
    settings.CHAT_STATE_KEYS = ("mood",)
    fake_openai.queue_chat("The lamp is lit.")
    fake_openai.queue_structured({"mood": None})
    chat, _ = await character_reply(http, character_book=BOOK)
    body = {"messages": [{"role": "user", "content": "And the harbour?"}]}
    fake_openai.queue_chat("Quiet tonight.")
    fake_openai.queue_structured({"mood": "calm"})
    response = await http.post(
        f"/api/chats/{chat['id']}", json={**body, "model": "model-on-the-list"}
    )
    reply_id = stream_reply_id(response.text)

    record = (await http.get(prompt_url(chat["id"], reply_id))).json()

    sent = [r.body for r in fake_openai.requests_to("chat") if r.body.get("stream")][-1]
    assert record["messages"] == sent["messages"]
    assert record["model"] == sent["model"] == "model-on-the-list"
    assert record["provider"] == "openai-compatible"
    assert [hit["key"] for hit in record["lorebook"]] == ["harbour", None]


async def test_an_assistant_reply_records_its_prompt_without_lorebook(http, settings):
    settings.AI_HISTORY_TOKEN_BUDGET = estimate_tokens(ASSISTANT_PROMPT) + 12
    chat = (await http.post("/api/chats", json={"prompt": "An old question " * 4})).json()
    response = await http.post(
        f"/api/chats/{chat['id']}", json={"messages": [{"role": "user", "content": "New one"}]}
    )
    reply_id = stream_reply_id(response.text)

    body = (await http.get(prompt_url(chat["id"], reply_id))).json()

    assert body["messages"] == [
        {"role": "system", "content": ASSISTANT_PROMPT},
        {"role": "user", "content": "New one"},
    ]
    assert body["lorebook"] == []
    assert body["history"] == {"sent": 1, "dropped": 1}
    assert body["tokens"]["lorebook"] == body["tokens"]["postHistory"] == 0


# --- who sees it, and the 404s (no model call: records are written as the turn writes them) --

RECORD = {
    "model": "gpt-4o-mini",
    "provider": "offline",
    "messages": [{"role": "system", "content": "rules"}, {"role": "user", "content": "hi"}],
    "lorebook": [],
    "tokens": {"system": 6, "lorebook": 0, "history": 5, "postHistory": 0, "total": 11},
    "history": {"sent": 1, "dropped": 0},
}


@pytest.fixture
def owner() -> JsonClient:
    return JsonClient()


@pytest.fixture
def chat(owner) -> dict:
    return json_body(owner.post("/api/chats", {"prompt": "hi"}), 201)


@pytest.fixture
def reply(chat) -> Message:
    return Message.objects.create(
        chat_id=chat["id"], client_id="msg-recorded", role="assistant", content="Hello.",
        prompt=RECORD,
    )  # fmt: skip


def test_the_owner_reads_the_record_in_one_query(owner, chat, reply, django_assert_num_queries):
    owner.get(prompt_url(chat["id"], reply.client_id))
    with django_assert_num_queries(1):  # the record (the cookie identity's session is cached)
        response = owner.get(prompt_url(chat["id"], reply.client_id))
    assert json_body(response) == {"messageId": "msg-recorded", **RECORD}


def test_a_token_owner_reads_the_record(auth_client, user):
    chat = json_body(auth_client.post("/api/chats", {"prompt": "hi"}), 201)
    Message.objects.create(
        chat_id=chat["id"], client_id="msg-mine", role="assistant", content="Hi.", prompt=RECORD
    )
    body = json_body(auth_client.get(prompt_url(chat["id"], "msg-mine")))
    assert body["messages"] == RECORD["messages"]


def test_another_identitys_chat_is_404_not_401(chat, reply):
    stranger = JsonClient()
    json_body(stranger.post("/api/chats", {"prompt": "mine"}), 201)
    assert json_body(stranger.get(prompt_url(chat["id"], reply.client_id)), 404) == (CHAT_NOT_FOUND)


def test_another_users_token_is_404(other_auth_client, chat, reply):
    response = other_auth_client.get(prompt_url(chat["id"], reply.client_id))
    assert json_body(response, 404) == CHAT_NOT_FOUND


def test_no_identity_at_all_is_404(client, chat, reply):
    assert json_body(client.get(prompt_url(chat["id"], reply.client_id)), 404) == CHAT_NOT_FOUND


@pytest.mark.parametrize("chat_id", [str(uuid.uuid4()), "not-a-uuid", "456"])
def test_an_unknown_chat_is_404(owner, chat, reply, chat_id):
    assert json_body(owner.get(prompt_url(chat_id, reply.client_id)), 404) == CHAT_NOT_FOUND


def test_an_unknown_message_is_404(owner, chat, reply):
    response = owner.get(prompt_url(chat["id"], "msg-nowhere"))
    assert json_body(response, 404) == MESSAGE_NOT_FOUND


def test_a_message_of_another_chat_is_404(owner, chat, reply):
    other = json_body(owner.post("/api/chats", {"prompt": "second"}), 201)
    response = owner.get(prompt_url(other["id"], reply.client_id))
    assert json_body(response, 404) == MESSAGE_NOT_FOUND


def test_a_user_line_has_no_prompt(owner, chat):
    user_line = chat["messages"][0]
    assert user_line["role"] == "user"
    response = owner.get(prompt_url(chat["id"], user_line["id"]))
    assert json_body(response, 404) == {"statusCode": 404, "statusMessage": NO_PROMPT}


def test_an_older_reply_without_a_record_has_no_prompt(owner, chat):
    Message.objects.create(chat_id=chat["id"], client_id="msg-old", role="assistant", content="x")
    response = owner.get(prompt_url(chat["id"], "msg-old"))
    assert json_body(response, 404) == {"statusCode": 404, "statusMessage": NO_PROMPT}


def test_other_methods_are_405_in_as_envelope(owner, chat, reply):
    response = owner.post(prompt_url(chat["id"], reply.client_id), {})
    body = json_body(response, 405)
    assert set(body) == {"statusCode", "statusMessage"} and body["statusCode"] == 405
