"""Contract of regenerate, edit and branches (CONTRACTS.md "Chats", issue 17 items 1-2).

`POST /api/chats/{id}` takes the AI SDK's body `{id, messages, trigger, messageId}`:
`regenerate-message` makes a new version of a reply, and a `submit-message` whose last user
message has a stored id and new text is an edit. `GET /api/chats/{id}` shows the active
branch, each message with `versions` when its turn has more than one;
`POST /api/chats/{id}/messages/{messageId}/activate` switches versions. A character chat's
state belongs to the branch. Read through the whole ASGI application, as a client reads it.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from channels.db import database_sync_to_async

from chats.models import Chat, Message
from config.asgi import application
from tests.contracts.test_assistant_stream import (
    BASE,
    TIMEOUT,
    a_error,
    assert_stream,
    parse_sse,
    wait_in_flight,
)
from tests.factories import CharacterFactory
from tests.fake_openai import CHAT

pytestmark = pytest.mark.django_db(transaction=True)

CHAT_KEYS = {"id", "title", "userId", "createdAt", "messages"}
MESSAGE_KEYS = {"id", "chatId", "role", "content", "createdAt"}
MESSAGE_NOT_FOUND = {"statusCode": 404, "statusMessage": "Message not found"}
CHAT_NOT_FOUND = {"statusCode": 404, "statusMessage": "Chat not found"}


@pytest.fixture
async def http():
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url=BASE, timeout=TIMEOUT
    ) as client:
        yield client


def ui(message_id: str, role: str, text: str) -> dict:
    """A message as the AI SDK's useChat sends it."""
    return {"id": message_id, "role": role, "parts": [{"type": "text", "text": text}]}


def as_ui(messages: list[dict]) -> list[dict]:
    return [ui(m["id"], m["role"], m["content"]) for m in messages]


async def new_chat(http, **body) -> dict:
    response = await http.post("/api/chats", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def stream(http, chat_id, messages, *, trigger="submit-message", message_id=None) -> str:
    """One streamed reply; returns the id its start part announced."""
    body = {"id": chat_id, "messages": messages, "trigger": trigger, "messageId": message_id}
    response = await http.post(f"/api/chats/{chat_id}", json=body)
    assert response.status_code == 200, response.text
    parts = parse_sse(response.text)
    kinds = [event for event, _ in parts]
    assert kinds[0] == "start" and "error" not in kinds and parts[-1] == ("", "[DONE]"), parts
    return parts[0][1]["messageId"]


async def shown(http, chat_id) -> list[dict]:
    response = await http.get(f"/api/chats/{chat_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == CHAT_KEYS
    return body["messages"]


def brief(messages: list[dict]) -> list[tuple]:
    return [(m["id"], m["role"], m["content"]) for m in messages]


async def activate(http, chat_id, message_id) -> httpx.Response:
    return await http.post(f"/api/chats/{chat_id}/messages/{message_id}/activate")


new_character = database_sync_to_async(CharacterFactory)


@database_sync_to_async
def stored(chat_id) -> list[Message]:
    return list(Message.objects.filter(chat_id=chat_id).order_by("created_at", "pk"))


@database_sync_to_async
def chat_state(chat_id) -> dict:
    return Chat.objects.get(pk=chat_id).state


def sent_history(fake_openai) -> list[tuple[str, str]]:
    """The conversation of the last reply the model was asked for (system prompt left out)."""
    request = [r for r in fake_openai.requests_to(CHAT) if r.body.get("stream")][-1]
    return [(m["role"], m["content"]) for m in request.body["messages"] if m["role"] != "system"]


@pytest.fixture
async def answered(http, fake_openai) -> dict:
    """A chat: the user's "Hello there" and the reply "First answer." (the AI SDK's regenerate()
    of a chat whose last message is a user line answers it)."""
    chat = await new_chat(http, prompt="Hello there")
    fake_openai.queue_chat("First answer.")
    reply = await stream(http, chat["id"], as_ui(chat["messages"]), trigger="regenerate-message")
    chat["hello"], chat["first"] = chat["messages"][0]["id"], reply
    return chat


class TestRegenerate:
    async def test_a_new_version_replaces_the_reply_and_the_old_one_is_kept(
        self, http, fake_openai, answered
    ):
        chat_id = answered["id"]
        fake_openai.queue_chat("Second answer.")
        history = as_ui(answered["messages"])

        second = await stream(
            http, chat_id, history, trigger="regenerate-message", message_id=answered["first"]
        )

        assert second != answered["first"]
        assert sent_history(fake_openai) == [("user", "Hello there")]
        messages = await shown(http, chat_id)
        assert brief(messages) == [
            (answered["hello"], "user", "Hello there"),
            (second, "assistant", "Second answer."),
        ]
        assert set(messages[0]) == MESSAGE_KEYS
        assert set(messages[1]) == MESSAGE_KEYS | {"versions"}
        assert messages[1]["versions"] == {
            "index": 1,
            "count": 2,
            "ids": [answered["first"], second],
        }
        rows = await stored(chat_id)
        assert [(m.client_id, m.content) for m in rows if m.role == "assistant"] == [
            (answered["first"], "First answer."),
            (second, "Second answer."),
        ]

    async def test_without_message_id_the_last_reply_is_regenerated(
        self, http, fake_openai, answered
    ):
        fake_openai.queue_chat("Another answer.")
        reply = await stream(
            http, answered["id"], as_ui(answered["messages"]), trigger="regenerate-message"
        )
        messages = await shown(http, answered["id"])
        assert brief(messages)[-1] == (reply, "assistant", "Another answer.")
        assert messages[-1]["versions"]["ids"] == [answered["first"], reply]

    async def test_an_unknown_message_id_is_404_and_changes_nothing(self, http, answered):
        before = await shown(http, answered["id"])
        response = await http.post(
            f"/api/chats/{answered['id']}",
            json={"messages": [], "trigger": "regenerate-message", "messageId": "msg-nope"},
        )
        assert a_error(response, 404) == MESSAGE_NOT_FOUND["statusMessage"]
        assert await shown(http, answered["id"]) == before
        # The chat is free again: the failed start released its claim.
        assert (await http.get(f"/api/chats/{answered['id']}/stream")).status_code == 204

    async def test_another_chats_message_is_404(self, http, answered):
        other = await new_chat(http, prompt="Elsewhere")
        response = await http.post(
            f"/api/chats/{other['id']}",
            json={
                "messages": [ui(other["messages"][0]["id"], "user", "Elsewhere")],
                "trigger": "regenerate-message",
                "messageId": answered["first"],
            },
        )
        assert response.json() == MESSAGE_NOT_FOUND and response.status_code == 404

    async def test_a_user_message_is_400(self, http, answered):
        response = await http.post(
            f"/api/chats/{answered['id']}",
            json={"messages": [], "trigger": "regenerate-message", "messageId": answered["hello"]},
        )
        a_error(response, 400, "messageId", "assistant reply")
        assert len(await stored(answered["id"])) == 2

    async def test_an_opening_line_is_400(self, http):
        character = await new_character(name="Mira", opening_line="Welcome to the stacks.")
        chat = await new_chat(http, characterId=character.pk)
        greeting = chat["messages"][0]["id"]
        response = await http.post(
            f"/api/chats/{chat['id']}",
            json={"messages": [], "trigger": "regenerate-message", "messageId": greeting},
        )
        a_error(response, 400, "messageId", "opening message")

    async def test_a_chat_with_no_reply_is_400(self, http):
        character = await new_character(name="Quiet", opening_line="")
        chat = await new_chat(http, characterId=character.pk)
        assert chat["messages"] == []
        response = await http.post(
            f"/api/chats/{chat['id']}", json={"messages": [], "trigger": "regenerate-message"}
        )
        a_error(response, 400, "messageId", "no reply to regenerate")

    async def test_a_message_id_that_is_not_a_string_is_400(self, http, answered):
        response = await http.post(
            f"/api/chats/{answered['id']}",
            json={"messages": [], "trigger": "regenerate-message", "messageId": 7},
        )
        a_error(response, 400, "Invalid messages", "messageId")

    async def test_an_unknown_trigger_is_400(self, http, answered):
        response = await http.post(
            f"/api/chats/{answered['id']}",
            json={"messages": as_ui(answered["messages"]), "trigger": "resume-stream"},
        )
        a_error(response, 400, "Invalid messages", "trigger")

    async def test_a_regenerated_reply_resumes(self, http, fake_openai, answered):
        fake_openai.slow_stream("One two three four five", interval=0.05)
        body = {
            "messages": as_ui(answered["messages"]),
            "trigger": "regenerate-message",
            "messageId": answered["first"],
        }
        original = asyncio.create_task(http.post(f"/api/chats/{answered['id']}", json=body))
        await wait_in_flight(answered["id"])
        resumed = await http.get(f"/api/chats/{answered['id']}/stream")
        first = await original
        reply_id, text = assert_stream(parse_sse(resumed.text))
        assert assert_stream(parse_sse(first.text)) == (reply_id, text)
        assert text == "One two three four five"
        messages = await shown(http, answered["id"])
        assert brief(messages)[-1] == (reply_id, "assistant", text)
        assert messages[-1]["versions"]["ids"] == [answered["first"], reply_id]


@pytest.fixture
async def two_turns(http, fake_openai, answered) -> dict:
    """`answered`, then the user's "Plan a picnic" (id "u-2") and the reply "Bring bread."."""
    fake_openai.queue_chat("Bring bread.")
    history = [
        ui(answered["hello"], "user", "Hello there"),
        ui(answered["first"], "assistant", "First answer."),
    ]
    answered["second"] = await stream(
        http, answered["id"], [*history, ui("u-2", "user", "Plan a picnic")]
    )
    answered["history"] = history
    return answered


class TestEdit:
    async def test_an_edit_is_a_new_version_under_the_id_the_client_keeps(
        self, http, fake_openai, two_turns
    ):
        chat_id = two_turns["id"]
        fake_openai.queue_chat("Bring boots.")
        edited = [*two_turns["history"], ui("u-2", "user", "Plan a hike")]

        reply = await stream(http, chat_id, edited, message_id="u-2")

        assert sent_history(fake_openai) == [
            ("user", "Hello there"),
            ("assistant", "First answer."),
            ("user", "Plan a hike"),
        ]
        messages = await shown(http, chat_id)
        assert brief(messages) == [
            (two_turns["hello"], "user", "Hello there"),
            (two_turns["first"], "assistant", "First answer."),
            ("u-2", "user", "Plan a hike"),
            (reply, "assistant", "Bring boots."),
        ]
        old_id, new_id = messages[2]["versions"]["ids"]
        assert messages[2]["versions"] == {"index": 1, "count": 2, "ids": [old_id, "u-2"]}
        assert new_id == "u-2" and old_id.startswith("msg-")
        assert "versions" not in messages[3]
        # The old version and what followed it are the other branch.
        old = await activate(http, chat_id, old_id)
        assert old.status_code == 200
        assert brief(old.json()["messages"])[2:] == [
            (old_id, "user", "Plan a picnic"),
            (two_turns["second"], "assistant", "Bring bread."),
        ]
        assert old.json()["messages"] == await shown(http, chat_id)

    async def test_the_same_text_again_is_no_edit(self, http, fake_openai, two_turns):
        fake_openai.queue_chat("Bring cheese.")
        same = [*two_turns["history"], ui("u-2", "user", "Plan a picnic")]
        reply = await stream(http, two_turns["id"], same)
        messages = await shown(http, two_turns["id"])
        assert "versions" not in messages[2]
        assert messages[3]["versions"]["ids"] == [two_turns["second"], reply]

    async def test_a_new_line_follows_the_message_before_it_in_the_request(
        self, http, fake_openai, two_turns
    ):
        fake_openai.queue_chat("Sure.")
        request = [*two_turns["history"], ui("u-3", "user", "Something else")]
        reply = await stream(http, two_turns["id"], request)
        messages = await shown(http, two_turns["id"])
        assert [m["id"] for m in messages] == [
            two_turns["hello"],
            two_turns["first"],
            "u-3",
            reply,
        ]
        assert messages[2]["versions"]["ids"] == ["u-2", "u-3"]

    async def test_an_id_stored_as_a_reply_is_400(self, http, two_turns):
        request = [ui(two_turns["second"], "user", "Not a user line")]
        response = await http.post(f"/api/chats/{two_turns['id']}", json={"messages": request})
        a_error(response, 400, "Invalid messages", two_turns["second"])
        assert len(await stored(two_turns["id"])) == 4


class TestActivate:
    async def test_goes_to_the_newest_descendant_of_the_version(self, http, fake_openai, two_turns):
        chat_id = two_turns["id"]
        fake_openai.queue_chat("Bring a kite.")
        newest = await stream(
            http,
            chat_id,
            [*two_turns["history"], ui("u-2", "user", "Plan a picnic")],
            trigger="regenerate-message",
            message_id=two_turns["second"],
        )
        fake_openai.queue_chat("Second try.")
        await stream(http, chat_id, [], trigger="regenerate-message", message_id=two_turns["first"])
        assert len(await shown(http, chat_id)) == 2

        body = (await activate(http, chat_id, two_turns["first"])).json()

        assert set(body) == CHAT_KEYS and body["id"] == chat_id
        assert [m["id"] for m in body["messages"]] == [
            two_turns["hello"],
            two_turns["first"],
            "u-2",
            newest,
        ]
        assert body["messages"][3]["versions"]["index"] == 1

    async def test_the_active_version_again_changes_nothing(self, http, two_turns):
        before = await shown(http, two_turns["id"])
        response = await activate(http, two_turns["id"], two_turns["second"])
        assert response.status_code == 200 and response.json()["messages"] == before

    async def test_an_unknown_message_is_404(self, http, two_turns):
        response = await activate(http, two_turns["id"], "msg-nope")
        assert (response.status_code, response.json()) == (404, MESSAGE_NOT_FOUND)

    async def test_another_identity_gets_404_not_the_chat(self, http, two_turns):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url=BASE
        ) as stranger:
            await stranger.post("/api/chats", json={"prompt": "Mine"})
            response = await activate(stranger, two_turns["id"], two_turns["first"])
        assert (response.status_code, response.json()) == (404, CHAT_NOT_FOUND)

    async def test_an_unknown_chat_is_404(self, http, two_turns):
        response = await activate(http, "0f0e0d0c-0b0a-4908-8706-050403020100", "msg-1")
        assert (response.status_code, response.json()) == (404, CHAT_NOT_FOUND)

    async def test_get_is_405_in_a_envelope(self, http, two_turns):
        response = await http.get(
            f"/api/chats/{two_turns['id']}/messages/{two_turns['first']}/activate"
        )
        a_error(response, 405)


class TestGreetings:
    async def test_alternate_greetings_are_versions_of_the_opening_line(self, http):
        character = await new_character(
            name="Mira",
            opening_line="Welcome to the stacks.",
            card={"alternate_greetings": ["Quiet, please.", "  ", "Back again?"]},
        )
        chat = await new_chat(http, characterId=character.pk, prompt="Hello")

        opening, hello = chat["messages"]
        assert (opening["content"], hello["content"]) == ("Welcome to the stacks.", "Hello")
        ids = opening["versions"]["ids"]
        assert opening["versions"] == {"index": 0, "count": 3, "ids": ids}
        assert opening["id"] == ids[0]
        assert chat["messages"] == await shown(http, chat["id"])

        body = (await activate(http, chat["id"], ids[2])).json()
        assert brief(body["messages"]) == [(ids[2], "assistant", "Back again?")]
        assert body["messages"][0]["versions"]["index"] == 2

    async def test_a_card_without_alternates_has_one_opening_line(self, http):
        character = await new_character(name="Mira", opening_line="Welcome.", card={})
        chat = await new_chat(http, characterId=character.pk)
        assert [set(m) for m in chat["messages"]] == [MESSAGE_KEYS]


KEYS = ("衣服", "情绪", "环境")


@pytest.fixture
def mira(settings):
    settings.CHAT_STATE_KEYS = KEYS
    return CharacterFactory(name="Mira", description="A librarian", opening_line="Welcome.")


def extracted(**values) -> dict:
    """The extractor's answer: every allowed key, null where the turn changed nothing."""
    names = {"clothes": "衣服", "mood": "情绪", "room": "环境"}
    return {key: None for key in KEYS} | {names[k]: v for k, v in values.items()}


def extractions(fake_openai) -> int:
    """How many state extractions (structured completions) the model was asked for."""
    return sum(
        1
        for r in fake_openai.requests_to(CHAT)
        if (r.body.get("response_format") or {}).get("type") == "json_schema"
    )


class TestStateOfTheBranch:
    async def test_switching_versions_switches_the_state_without_extracting(
        self, http, fake_openai, mira
    ):
        chat = await new_chat(http, characterId=mira.pk)
        state_url = f"/api/chats/{chat['id']}/state"
        greeting = ui(chat["messages"][0]["id"], "assistant", "Welcome.")
        fake_openai.queue_chat("The lamp hums.")
        fake_openai.queue_structured(extracted(mood="calm"))
        calm = await stream(http, chat["id"], [greeting, ui("u-1", "user", "I open a book")])
        assert (await http.get(state_url)).json()["state"] == {"情绪": "calm"}

        fake_openai.queue_chat("Thunder outside.")
        fake_openai.queue_structured(extracted(mood="tense", room="a dark hall"))
        tense = await stream(http, chat["id"], [], trigger="regenerate-message", message_id=calm)
        # The regenerated turn started from the state before the reply it replaces.
        system = [r for r in fake_openai.requests_to(CHAT) if r.body.get("stream")][-1]
        assert "calm" not in system.body["messages"][0]["content"]
        tense_state = {"情绪": "tense", "环境": "a dark hall"}
        assert (await http.get(state_url)).json()["state"] == tense_state

        asked = extractions(fake_openai)
        assert asked == 2
        back = await activate(http, chat["id"], calm)
        assert back.status_code == 200
        got = (await http.get(state_url)).json()
        assert got["state"] == {"情绪": "calm"} and got["updated_at"].endswith("Z")
        assert await chat_state(chat["id"]) == {"情绪": "calm"}
        await activate(http, chat["id"], tense)
        assert (await http.get(state_url)).json()["state"] == tense_state
        assert extractions(fake_openai) == asked

    async def test_a_state_update_belongs_to_the_active_branch(self, http, fake_openai, mira):
        chat = await new_chat(http, characterId=mira.pk)
        state_url = f"/api/chats/{chat['id']}/state"
        line = [ui(chat["messages"][0]["id"], "assistant", "Welcome."), ui("u-1", "user", "Hi")]
        fake_openai.queue_chat("Hello.")
        fake_openai.queue_structured(extracted(mood="calm"))
        first = await stream(http, chat["id"], line)
        fake_openai.queue_chat("Hello again.")
        fake_openai.queue_structured(extracted(mood="tense"))
        second = await stream(http, chat["id"], [], trigger="regenerate-message", message_id=first)

        await activate(http, chat["id"], first)
        update = {"state_update": {"衣服": "a grey coat"}}
        assert (await http.post(state_url, json=update)).json()["state"] == {
            "衣服": "a grey coat",
            "情绪": "calm",
        }
        await activate(http, chat["id"], second)
        assert (await http.get(state_url)).json()["state"] == {"情绪": "tense"}
        await activate(http, chat["id"], first)
        assert (await http.get(state_url)).json()["state"] == {
            "衣服": "a grey coat",
            "情绪": "calm",
        }

    async def test_the_json_turn_answers_the_state_after_it_and_the_reply_keeps_it(
        self, http, fake_openai, mira
    ):
        chat = await new_chat(http, characterId=mira.pk)
        fake_openai.queue_chat("The pages rustle.")
        fake_openai.queue_structured(extracted(mood="curious"))
        response = await http.post(
            f"/api/chats/{chat['id']}/messages", json={"role": "user", "content": "I sit down"}
        )
        body = response.json()
        assert body["state_snapshot"] == {"情绪": "curious"}
        reply = (await stored(chat["id"]))[-1]
        assert (reply.content, reply.state_snapshot) == ("The pages rustle.", {"情绪": "curious"})
        assert [m["content"] for m in await shown(http, chat["id"])] == [
            "Welcome.",
            "I sit down",
            "The pages rustle.",
        ]
