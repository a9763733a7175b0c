"""Contract tests of family A's streamed reply (`POST /api/chats/{id}`) and its resume and
stop routes (`GET/DELETE /api/chats/{id}/stream`), and of family C's character turn
(`POST /api/chats/{id}/messages` in a character chat).

The stream is read as a client reads it: through the whole ASGI application
(config.asgi), parsing `event:` and `data:` lines. A disconnect is a real `http.disconnect`
sent to the application mid-stream.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from channels.db import database_sync_to_async
from django.conf import settings

from ai import engine, replay
from chats import ai_services, sse
from chats.models import Chat, Message
from config.asgi import application
from tests.factories import CharacterFactory

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 10
BASE = "http://testserver"
OFFLINE_TAG = "[offline provider]"
SSE_HEADERS = {
    "x-vercel-ai-ui-message-stream": "v1",
    "x-accel-buffering": "no",
}


def parse_sse(body: str) -> list[tuple[str | None, object]]:
    """(event name, decoded data) per part; `[DONE]` as ("", "[DONE]")."""
    parts = []
    for block in body.split("\n\n"):
        if not block.strip() or block.startswith(":"):
            continue
        event, data = None, None
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: "):
                data = line[len("data: ") :]
        parts.append((event or "", data if data == "[DONE]" else json.loads(data)))
    return parts


@pytest.fixture
async def http():
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url=BASE, timeout=TIMEOUT
    ) as client:
        yield client


async def new_chat(http, prompt: str = "Hello there", **extra) -> dict:
    response = await http.post("/api/chats", json={"prompt": prompt, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def a_error(response, status: int, *fragments: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"statusCode", "statusMessage"} and body["statusCode"] == status
    for fragment in fragments:
        assert fragment.lower() in body["statusMessage"].lower(), body
    return body["statusMessage"]


@database_sync_to_async
def messages_of(chat_id) -> list[Message]:
    return list(Message.objects.filter(chat_id=chat_id).order_by("created_at", "pk"))


def assert_stream(parts) -> tuple[str, str]:
    """The part order of one reply; returns (messageId, assembled text)."""
    for event, data in parts[:-1]:
        assert isinstance(data, dict) and data["type"] == event, (event, data)
    assert parts[-1] == ("", "[DONE]")
    kinds = [event for event, _ in parts[:-1]]
    assert kinds[0] == "start"
    assert kinds[1] == "text-start"
    assert kinds[-2:] == ["text-end", "finish"]
    assert set(kinds[2:-2]) == {"text-delta"}
    start = parts[0][1]
    assert set(start) == {"type", "messageId"} and start["messageId"].startswith("msg-")
    block = parts[1][1]["id"]
    assert all(data["id"] == block for _, data in parts[1:-2])
    text = "".join(data["delta"] for event, data in parts if event == "text-delta")
    return start["messageId"], text


async def test_the_reply_streams_as_ui_message_parts_and_is_stored(http):
    chat = await new_chat(http)
    response = await http.post(
        f"/api/chats/{chat['id']}",
        json={"model": "gpt-oss-120b", "messages": [{"role": "user", "content": "Tell me"}]},
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"].startswith("no-cache")
    for name, value in SSE_HEADERS.items():
        assert response.headers[name] == value
    assert "content-encoding" not in response.headers
    message_id, text = assert_stream(parse_sse(response.text))
    assert OFFLINE_TAG in text
    rows = await messages_of(chat["id"])
    assert [(m.role, m.content) for m in rows] == [
        ("user", "Hello there"),
        ("user", "Tell me"),
        ("assistant", text),
    ]
    assert rows[-1].client_id == message_id and rows[-1].stopped is False
    shown = (await http.get(f"/api/chats/{chat['id']}")).json()["messages"][-1]
    assert (shown["id"], shown["role"], shown["content"]) == (message_id, "assistant", text)


async def test_ai_sdk_messages_with_parts_are_accepted_and_a_known_id_is_not_stored_again(http):
    chat = await new_chat(http)
    first = (await http.get(f"/api/chats/{chat['id']}")).json()["messages"][0]
    ui_messages = [
        {"id": first["id"], "role": "user", "parts": [{"type": "text", "text": "Hello there"}]},
        {
            "id": "ui-2",
            "role": "user",
            "parts": [{"type": "step-start"}, {"type": "text", "text": "And now?"}],
        },
    ]
    response = await http.post(
        f"/api/chats/{chat['id']}",
        json={"id": chat["id"], "messages": ui_messages, "trigger": "submit-message"},
    )
    assert response.status_code == 200, response.text
    message_id, text = assert_stream(parse_sse(response.text))
    rows = await messages_of(chat["id"])
    assert [(m.client_id, m.content) for m in rows] == [
        (first["id"], "Hello there"),
        ("ui-2", "And now?"),
        (message_id, text),
    ]
    # The whole conversation sent again stores only what is new.
    again = await http.post(
        f"/api/chats/{chat['id']}", json={"messages": [*ui_messages, ui_messages[-1]]}
    )
    assert again.status_code == 200
    assert len(await messages_of(chat["id"])) == 4


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": "hello"}, "messages"),
        ({"messages": [{"role": "user"}]}, "content or parts"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "role"),
        ({"messages": [{"role": "assistant", "content": "x"}]}, "user message"),
        ({"messages": [{"role": "user", "content": "   "}]}, "empty"),
        ({"messages": [{"role": "user", "content": 42}]}, "string"),
        ({"messages": [{"role": "user", "content": "x"}], "model": 7}, "model"),
    ],
)
async def test_a_bad_stream_request_is_a_400_in_the_family_body_and_writes_nothing(
    http, body, fragment
):
    chat = await new_chat(http)
    a_error(await http.post(f"/api/chats/{chat['id']}", json=body), 400, fragment)
    assert len(await messages_of(chat["id"])) == 1


async def test_oversize_content_is_413_and_nothing_is_written(http):
    chat = await new_chat(http)
    big = "x" * (32 * 1024 + 1)
    response = await http.post(
        f"/api/chats/{chat['id']}", json={"messages": [{"role": "user", "content": big}]}
    )
    a_error(response, 413)
    assert len(await messages_of(chat["id"])) == 1


async def test_unknown_and_foreign_chats(http):
    chat = await new_chat(http)
    body = {"messages": [{"role": "user", "content": "hi"}]}
    a_error(await http.post("/api/chats/00000000-0000-0000-0000-000000000000", json=body), 404)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url=BASE
    ) as stranger:
        await new_chat(stranger)  # a cookie identity of its own
        for method, path in [
            ("POST", f"/api/chats/{chat['id']}"),
            ("GET", f"/api/chats/{chat['id']}/stream"),
            ("DELETE", f"/api/chats/{chat['id']}/stream"),
        ]:
            a_error(await stranger.request(method, path, json=body), 401)
    assert len(await messages_of(chat["id"])) == 1


async def test_resume_answers_204_when_nothing_is_in_flight(http):
    chat = await new_chat(http)
    response = await http.get(f"/api/chats/{chat['id']}/stream")
    assert response.status_code == 204 and response.content == b""
    stop = await http.delete(f"/api/chats/{chat['id']}/stream")
    assert stop.status_code == 200 and stop.json() == {"stopped": False}


async def wait_in_flight(chat_id) -> engine.Turn:
    key = ai_services.turn_key(chat_id)
    for _ in range(TIMEOUT * 100):
        turn = engine.in_flight(key)
        if turn is not None and any(e.kind == engine.DELTA for e in turn.events):
            return turn
        await asyncio.sleep(0.01)
    raise AssertionError("no reply in flight")


async def test_a_resumed_stream_replays_the_reply_from_its_first_part(http, settings):
    settings.AI_OFFLINE_DELAY = 0.02
    chat = await new_chat(http)
    body = {"messages": [{"role": "user", "content": "A long answer, please"}]}
    original = asyncio.create_task(http.post(f"/api/chats/{chat['id']}", json=body))
    await wait_in_flight(chat["id"])

    resumed = await http.get(f"/api/chats/{chat['id']}/stream")
    first = await original

    assert resumed.status_code == 200
    for name, value in SSE_HEADERS.items():
        assert resumed.headers[name] == value
    assert parse_sse(resumed.text) == parse_sse(first.text)
    message_id, _text = assert_stream(parse_sse(resumed.text))
    rows = await messages_of(chat["id"])
    assert [m.client_id for m in rows if m.role == "assistant"] == [message_id]


async def test_a_second_stream_while_one_is_in_flight_is_409(http, settings):
    settings.AI_OFFLINE_DELAY = 0.02
    chat = await new_chat(http)
    body = {"messages": [{"role": "user", "content": "Go on"}]}
    original = asyncio.create_task(http.post(f"/api/chats/{chat['id']}", json=body))
    await wait_in_flight(chat["id"])
    a_error(await http.post(f"/api/chats/{chat['id']}", json=body), 409, "already")
    await original


async def test_an_unknown_or_foreign_chat_is_answered_before_its_body_or_its_reply_in_flight(
    http, settings
):
    """The chat is checked before anything else about the request: an unknown chat is 404
    and another identity's is 401, whatever the body, and whether or not a reply of it is in
    flight (another's chat is never answered as busy)."""
    settings.AI_OFFLINE_DELAY = 0.02
    chat = await new_chat(http)
    bad = {"messages": [{"role": "robot"}]}
    good = {"messages": [{"role": "user", "content": "Go on"}]}
    for unknown in ["00000000-0000-0000-0000-000000000000", "not-a-chat-id"]:
        a_error(await http.post(f"/api/chats/{unknown}", json=bad), 404)
        a_error(await http.post(f"/api/chats/{unknown}", json=good), 404)
    original = asyncio.create_task(http.post(f"/api/chats/{chat['id']}", json=good))
    await wait_in_flight(chat["id"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url=BASE
    ) as stranger:
        await new_chat(stranger)  # a cookie identity of its own
        for body in [bad, good]:
            a_error(await stranger.post(f"/api/chats/{chat['id']}", json=body), 401)
    a_error(await http.post(f"/api/chats/{chat['id']}", json=bad), 400)
    a_error(await http.post(f"/api/chats/{chat['id']}", json=good), 409, "already")
    assert (await original).status_code == 200
    assert [m.role for m in await messages_of(chat["id"])] == ["user", "user", "assistant"]


async def test_stop_ends_the_stream_and_stores_the_partial_reply_marked_stopped(http, settings):
    settings.AI_OFFLINE_DELAY = 0.05
    chat = await new_chat(http)
    body = {"messages": [{"role": "user", "content": "Keep talking"}]}
    original = asyncio.create_task(http.post(f"/api/chats/{chat['id']}", json=body))
    await wait_in_flight(chat["id"])

    stop = await http.delete(f"/api/chats/{chat['id']}/stream")
    streamed = await original

    assert stop.status_code == 200 and stop.json() == {"stopped": True}
    message_id, text = assert_stream(parse_sse(streamed.text))
    reply = (await messages_of(chat["id"]))[-1]
    assert (reply.client_id, reply.role, reply.stopped) == (message_id, "assistant", True)
    assert reply.content == text.strip()


async def test_a_client_that_disconnects_mid_stream_still_gets_the_reply_stored(settings, http):
    """A real ASGI disconnect after the first body chunk: the response ends, the turn
    does not."""
    settings.AI_OFFLINE_DELAY = 0.02
    chat = await new_chat(http)
    cookie = http.cookies
    body = json.dumps({"messages": [{"role": "user", "content": "Bye soon"}]}).encode()
    cookie_header = "; ".join(f"{k}={v}" for k, v in cookie.items()).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/api/chats/{chat['id']}",
        "raw_path": f"/api/chats/{chat['id']}".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"cookie", cookie_header),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    first_chunk = asyncio.Event()
    sent: list[dict] = []
    inputs = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        if inputs:
            return inputs.pop(0)
        await first_chunk.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            first_chunk.set()

    await asyncio.wait_for(application(scope, receive, send), TIMEOUT)
    assert sent[0]["status"] == 200
    received = b"".join(m.get("body", b"") for m in sent[1:])
    assert b"[DONE]" not in received  # the client left before the end

    turn = engine.in_flight(ai_services.turn_key(chat["id"]))
    if turn is not None:
        await asyncio.wait_for(turn.result(), TIMEOUT)
    reply = (await messages_of(chat["id"]))[-1]
    assert reply.role == "assistant" and reply.stopped is False
    assert OFFLINE_TAG in reply.content and reply.content.rstrip().endswith(("?", "."))


# --- family C: the character turn ---------------------------------------------------------------


@pytest.fixture
async def character():
    return await database_sync_to_async(CharacterFactory)(
        name="Mira", description="A calm librarian", opening_line="Welcome to the stacks."
    )


async def test_a_user_line_in_a_character_chat_runs_the_turn_and_updates_the_state(
    http, character, settings
):
    settings.CHAT_STATE_KEYS = ("衣服", "情绪", "环境")
    chat = (await http.post("/api/chats", json={"characterId": character.pk})).json()
    response = await http.post(
        f"/api/chats/{chat['id']}/messages", json={"role": "user", "content": "I open a book"}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"message", "ai_response", "state_snapshot"}
    assert set(body["message"]) == {"id", "chatId", "role", "content", "createdAt"}
    assert (body["message"]["role"], body["message"]["content"]) == ("user", "I open a book")
    assert isinstance(body["ai_response"], str) and body["ai_response"].strip()
    assert set(body["state_snapshot"]) == {"衣服", "情绪", "环境"}
    stored = await database_sync_to_async(Chat.objects.get)(pk=chat["id"])
    assert stored.state == body["state_snapshot"]
    rows = await messages_of(chat["id"])
    assert [(m.role, m.content) for m in rows] == [
        ("assistant", "Welcome to the stacks."),
        ("user", "I open a book"),
        ("assistant", body["ai_response"]),
    ]
    state = (await http.get(f"/api/chats/{chat['id']}/state")).json()
    assert state["state"] == body["state_snapshot"]


async def test_when_only_the_extraction_fails_the_answer_is_207_and_the_state_is_unchanged(
    http, character, fake_openai
):
    chat = (await http.post("/api/chats", json={"characterId": character.pk})).json()
    before = (
        await http.post(f"/api/chats/{chat['id']}/state", json={"state_update": {"情绪": "calm"}})
    ).json()
    fake_openai.queue_chat("The pages rustle softly.")
    fake_openai.queue_structured("not json")
    fake_openai.queue_structured("still not json")

    response = await http.post(
        f"/api/chats/{chat['id']}/messages", json={"role": "user", "content": "I sit down"}
    )

    assert response.status_code == 207, response.text
    body = response.json()
    assert set(body) == {"message", "ai_response", "state_error"}
    assert body["ai_response"] == "The pages rustle softly."
    assert set(body["state_error"]) == {"message"} and body["state_error"]["message"]
    after = (await http.get(f"/api/chats/{chat['id']}/state")).json()
    assert after == before
    reply = (await messages_of(chat["id"]))[-1]
    assert (reply.role, reply.content) == ("assistant", "The pages rustle softly.")
    assert reply.state_snapshot == {"情绪": "calm"}  # the state that produced the reply


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL (the replay log)")
async def test_with_redis_another_process_can_resume_and_stop_the_reply(http, settings):
    """What a second server process does: read the turn's events from Redis (its resume)
    and ask for a stop through Redis (its DELETE); the turn's own process obeys."""
    settings.AI_OFFLINE_DELAY = 0.05
    chat = await new_chat(http)
    body = {"messages": [{"role": "user", "content": "Across processes"}]}
    original = asyncio.create_task(http.post(f"/api/chats/{chat['id']}", json=body))
    await wait_in_flight(chat["id"])
    key = ai_services.turn_key(chat["id"])
    assert await replay.live(key)

    async def elsewhere() -> str:
        return b"".join([chunk async for chunk in sse.stream_parts(replay.read(key))]).decode()

    resumed = asyncio.create_task(elsewhere())
    await asyncio.sleep(0.2)
    assert await replay.request_stop(key)
    streamed = await original
    replayed = await asyncio.wait_for(resumed, TIMEOUT)

    assert parse_sse(replayed) == parse_sse(streamed.text)
    message_id, text = assert_stream(parse_sse(replayed))
    reply = (await messages_of(chat["id"]))[-1]
    assert (reply.client_id, reply.stopped, reply.content) == (message_id, True, text.strip())
    assert not await replay.live(key)


async def test_a_slow_model_gets_keep_alive_comments_between_parts(http, settings, fake_openai):
    settings.SSE_KEEP_ALIVE_SECONDS = 0.05
    fake_openai.slow_stream("slow but sure", interval=0.3)
    chat = await new_chat(http)
    response = await http.post(
        f"/api/chats/{chat['id']}", json={"messages": [{"role": "user", "content": "Take time"}]}
    )
    assert response.status_code == 200
    assert response.text.count(": keep-alive\n\n") >= 3
    _, text = assert_stream(parse_sse(response.text))
    assert text == "slow but sure"


async def test_a_model_failure_mid_stream_ends_with_an_error_part_never_a_silent_cut(
    http, fake_openai
):
    fake_openai.cut_stream(2, text="one two three four")
    chat = await new_chat(http)
    response = await http.post(
        f"/api/chats/{chat['id']}", json={"messages": [{"role": "user", "content": "Go"}]}
    )
    assert response.status_code == 200
    parts = parse_sse(response.text)
    kinds = [event for event, _ in parts]
    assert kinds[0] == "start"
    assert kinds[-3:] == ["error", "finish", ""] and parts[-1] == ("", "[DONE]")
    error = parts[-3][1]
    assert set(error) == {"type", "errorText"} and error["errorText"].strip()
    assert "text-end" in kinds and kinds.index("text-end") < kinds.index("error")
    rows = await messages_of(chat["id"])
    assert [m.role for m in rows] == ["user", "user"]  # no half reply stored


async def test_a_streamed_character_chat_sends_the_new_state_as_a_data_part(http, character):
    chat = (await http.post("/api/chats", json={"characterId": character.pk})).json()
    response = await http.post(
        f"/api/chats/{chat['id']}", json={"messages": [{"role": "user", "content": "I wave"}]}
    )
    assert response.status_code == 200
    parts = parse_sse(response.text)
    kinds = [event for event, _ in parts]
    assert kinds[-4:] == ["text-end", "data-state", "finish", ""]
    state = parts[-3][1]["data"]
    stored = await database_sync_to_async(Chat.objects.get)(pk=chat["id"])
    assert state == stored.state and state


async def test_a_failed_extraction_in_a_stream_is_a_data_part_not_an_error(
    http, character, fake_openai
):
    chat = (await http.post("/api/chats", json={"characterId": character.pk})).json()
    fake_openai.queue_chat("A quiet nod.")
    fake_openai.queue_structured("not json")
    fake_openai.queue_structured("not json either")
    response = await http.post(
        f"/api/chats/{chat['id']}", json={"messages": [{"role": "user", "content": "Hi"}]}
    )
    parts = parse_sse(response.text)
    kinds = [event for event, _ in parts]
    assert "error" not in kinds
    assert kinds[-4:] == ["text-end", "data-state-error", "finish", ""]
    assert parts[-3][1]["data"]["message"]


async def test_past_the_turn_bound_a_stream_request_is_503_busy_in_the_family_body(http, settings):
    settings.AI_TURNS_MAX_CONCURRENT = 0
    chat = await new_chat(http)
    response = await http.post(
        f"/api/chats/{chat['id']}", json={"messages": [{"role": "user", "content": "Now"}]}
    )
    a_error(response, 503, "busy")
    assert int(response.headers["retry-after"]) >= 1
    assert len(await messages_of(chat["id"])) == 1  # nothing written


async def test_reasoning_from_the_model_streams_as_reasoning_parts_before_the_text(
    http, fake_openai
):
    fake_openai.slow_stream("the answer", interval=0.01, reasoning="let me think")
    chat = await new_chat(http)
    response = await http.post(
        f"/api/chats/{chat['id']}", json={"messages": [{"role": "user", "content": "Why?"}]}
    )
    parts = parse_sse(response.text)
    kinds = [event for event, _ in parts]
    assert kinds == [
        "start",
        "reasoning-start",
        "reasoning-delta",
        "reasoning-delta",
        "reasoning-delta",
        "reasoning-end",
        "text-start",
        "text-delta",
        "text-delta",
        "text-end",
        "finish",
        "",
    ]
    reasoning = "".join(d["delta"] for e, d in parts if e == "reasoning-delta")
    assert reasoning == "let me think"
    block = parts[1][1]["id"]
    assert all(d["id"] == block for e, d in parts if e.startswith("reasoning-"))
    assert parts[6][1]["id"] != block
    reply = (await messages_of(chat["id"]))[-1]
    assert reply.content == "the answer"  # the reasoning is streamed, not stored
