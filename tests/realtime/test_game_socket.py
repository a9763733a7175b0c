"""Contract tests of the game socket `/ws?sessionId=…&token=…` (seed 001 section 9, CONTRACTS.md
"Realtime" and "Messages and sessions of the game").

The whole ASGI application of config/asgi.py is driven through channels' WebsocketCommunicator:
origin check, JWT middleware, routing and the consumer, with the project's channel layer
(in-memory by default, channels_redis when REDIS_URL is set). The model is the offline provider.
Every wait has a timeout and every communicator is disconnected, whatever the outcome.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import uuid
from contextlib import asynccontextmanager

import pytest
from asgiref.sync import sync_to_async
from channels import DEFAULT_CHANNEL_LAYER
from channels.db import database_sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from PIL import Image

from accounts.services import tokens_for_user
from config.asgi import application
from core.times import iso_utc
from games.models import GameImage, GameSession, Message, SessionStatus
from tests.factories import CharacterFactory, GameSessionFactory

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 10
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
CHAT_KEYS = {"kind", "id", "role", "content", "type", "timestamp"}
DELTA_KEYS = {"kind", "role", "delta", "timestamp"}
IMAGE_KEYS = {"kind", "id", "mime", "data", "alt", "url", "timestamp"}
INFO_KEYS = {"kind", "message"}
TYPING_KEYS = {"kind", "message", "value", "userId"}
OFFLINE_TAG = "[offline provider]"
CONTENT_LIMIT = 32 * 1024


# --- helpers -----------------------------------------------------------------------------------


def ws_path(session_id: str | None = None, **params: str) -> str:
    query = {} if session_id is None else {"sessionId": str(session_id)}
    query.update(params)
    return "/ws" + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def bearer(token: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {token}".encode())]


async def _settle_turns() -> None:
    """Let turns a consumer started in the background finish before the test's loop ends."""
    current = asyncio.current_task()
    pending = [
        task
        for task in asyncio.all_tasks()
        if task is not current
        and not task.done()
        and getattr(task.get_coro(), "__qualname__", "").startswith("GameConsumer.")
    ]
    if pending:
        await asyncio.wait(pending, timeout=TIMEOUT)


@asynccontextmanager
async def socket(path: str, headers: list[tuple[bytes, bytes]] | None = None):
    """An accepted, open game socket; always disconnected on the way out."""
    communicator = WebsocketCommunicator(application, path, headers=headers or [])
    try:
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected, "the socket was not accepted"
        yield communicator
    finally:
        await communicator.disconnect(timeout=TIMEOUT)
        await _settle_turns()


async def close_code(path: str, headers: list[tuple[bytes, bytes]] | None = None) -> int:
    """The code the server closes with. It accepts first, so that browsers can read the code."""
    communicator = WebsocketCommunicator(application, path, headers=headers or [])
    try:
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected, "the server must accept before closing with a code"
        output = await communicator.receive_output(timeout=TIMEOUT)
        assert output["type"] == "websocket.close", output
        assert set(output) <= {"type", "code", "reason"}
        return output["code"]
    finally:
        await communicator.disconnect(timeout=TIMEOUT)


async def receive(communicator) -> dict:
    frame = await communicator.receive_json_from(timeout=TIMEOUT)
    assert isinstance(frame, dict) and "kind" in frame, frame
    return frame


async def expect_info(communicator, *fragments: str) -> str:
    frame = await receive(communicator)
    assert frame["kind"] == "info", frame
    assert set(frame) == INFO_KEYS, frame
    message = frame["message"]
    assert isinstance(message, str) and message.strip() and message != "typing"
    for fragment in fragments:
        assert fragment.lower() in message.lower(), (fragment, message)
    return message


def assert_chat(frame: dict, role: str, content: str | None = None) -> dict:
    assert frame["kind"] == "chat", frame
    assert set(frame) == CHAT_KEYS, frame
    assert frame["role"] == role
    assert isinstance(frame["id"], int)
    assert frame["type"] == "chat"
    assert isinstance(frame["content"], str) and frame["content"].strip()
    assert ISO_Z.match(frame["timestamp"]), frame["timestamp"]
    if content is not None:
        assert frame["content"] == content
    return frame


async def expect_turn(communicator, content: str) -> tuple[dict, dict]:
    """The user's line as sent, then the game master's answer to it."""
    user = assert_chat(await receive(communicator), "user", content)
    assistant = assert_chat(await receive(communicator), "assistant")
    assert assistant["id"] > user["id"]
    return user, assistant


@database_sync_to_async
def stored_log(session_id) -> list[tuple[int, str, str]]:
    return list(
        Message.objects.filter(session_id=session_id)
        .order_by("id")
        .values_list("id", "role", "content")
    )


@database_sync_to_async
def end_session(session_id) -> None:
    GameSession.objects.filter(pk=session_id).update(status=SessionStatus.ENDED)


@pytest.fixture(autouse=True)
async def fresh_channel_layer():
    """Each test gets the channel layer a new server process would have: channels keeps one
    instance per process, and a Redis layer's receive state belongs to one event loop, while
    every test runs in a loop of its own."""
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    yield
    layer = channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    if layer is not None:
        await layer.flush()  # the pub/sub layer closes its connections of this loop


@pytest.fixture
def session():
    return GameSessionFactory()


@pytest.fixture
def sid(session) -> str:
    return str(session.pk)


@pytest.fixture
def ended_sid() -> str:
    return str(GameSessionFactory(status=SessionStatus.ENDED).pk)


@pytest.fixture
def owned_sid(auth_client) -> str:
    """A session started with a Bearer token: it belongs to the token's user."""
    character = CharacterFactory(game=None)
    response = auth_client.post(
        "/api/session/start", {"gameId": 7070, "userId": 3, "characterId": character.pk}
    )
    assert response.status_code == 201, response.content
    session_id = response.json()["sessionId"]
    assert GameSession.objects.get(pk=session_id).owner_id is not None
    return session_id


@pytest.fixture
def other_token(other_user) -> str:
    return tokens_for_user(user=other_user).access


# --- Connecting --------------------------------------------------------------------------------


async def test_connects_to_an_active_session_and_stays_open(sid):
    async with socket(ws_path(sid)) as ws:
        await ws.send_json_to({"action": "dance"})
        await expect_info(ws, "dance")
        await ws.send_json_to({"action": "user_message", "content": "Hello?"})
        await expect_turn(ws, "Hello?")


@pytest.mark.parametrize("where", ["query", "header"])
async def test_a_valid_token_connects_to_an_open_session(sid, token, where):
    path = ws_path(sid, token=token) if where == "query" else ws_path(sid)
    headers = bearer(token) if where == "header" else None
    async with socket(path, headers) as ws:
        await ws.send_json_to({"action": "user_message", "content": "I am here"})
        await expect_turn(ws, "I am here")


async def test_unknown_session_closes_4404():
    assert await close_code(ws_path(str(uuid.uuid4()))) == 4404
    assert await close_code(ws_path("not-a-uuid")) == 4404


async def test_missing_session_id_closes_4404():
    assert await close_code("/ws") == 4404
    assert await close_code("/ws?sessionId=") == 4404


async def test_ended_session_closes_4409(ended_sid):
    assert await close_code(ws_path(ended_sid)) == 4409


@pytest.mark.parametrize("where", ["query", "header"])
async def test_invalid_token_closes_4401(sid, where):
    bad = "not.a.jwt"
    if where == "query":
        assert await close_code(ws_path(sid, token=bad)) == 4401
    else:
        assert await close_code(ws_path(sid), bearer(bad)) == 4401


async def test_invalid_token_wins_over_an_unknown_session():
    assert await close_code(ws_path(str(uuid.uuid4()), token="garbage")) == 4401


async def test_required_auth_without_token_closes_4401(sid, token, settings):
    settings.GAME_REQUIRE_AUTH = True
    assert await close_code(ws_path(sid)) == 4401
    async with socket(ws_path(sid, token=token)) as ws:
        await ws.send_json_to({"action": "typing"})
        await expect_info(ws, "typing")


async def test_someone_elses_session_closes_4403(owned_sid, other_token):
    assert await close_code(ws_path(owned_sid, token=other_token)) == 4403
    assert await close_code(ws_path(owned_sid), bearer(other_token)) == 4403
    assert await close_code(ws_path(owned_sid)) == 4403


@pytest.mark.parametrize("where", ["query", "header"])
async def test_the_owner_plays_their_session(owned_sid, token, where):
    path = ws_path(owned_sid, token=token) if where == "query" else ws_path(owned_sid)
    async with socket(path, bearer(token) if where == "header" else None) as ws:
        await ws.send_json_to({"action": "user_message", "content": "My own tale"})
        user, assistant = await expect_turn(ws, "My own tale")
    assert await stored_log(owned_sid) == [
        (user["id"], "user", "My own tale"),
        (assistant["id"], "assistant", assistant["content"]),
    ]


# --- user_message ------------------------------------------------------------------------------


async def test_user_message_reaches_every_client_then_the_reply(sid):
    line = "I push open the heavy gate"
    async with socket(ws_path(sid)) as a, socket(ws_path(sid)) as b:
        await a.send_json_to({"action": "user_message", "content": line})

        user_a, reply_a = await expect_turn(a, line)
        user_b, reply_b = await expect_turn(b, line)

    assert user_a == user_b
    assert reply_a == reply_b
    assert line in reply_a["content"]  # the game master answers the player's words
    assert OFFLINE_TAG in reply_a["content"]
    assert await stored_log(sid) == [
        (user_a["id"], "user", line),
        (reply_a["id"], "assistant", reply_a["content"]),
    ]


async def test_stream_client_gets_deltas_before_the_final_reply(sid):
    line = "I whistle a tune to the guards"
    async with socket(ws_path(sid, stream="1")) as streaming, socket(ws_path(sid)) as plain:
        await plain.send_json_to({"action": "user_message", "content": line})

        assert_chat(await receive(streaming), "user", line)
        deltas = []
        while True:
            frame = await receive(streaming)
            if frame["kind"] != "chat_delta":
                break
            assert set(frame) == DELTA_KEYS, frame
            assert frame["role"] == "assistant"
            assert isinstance(frame["delta"], str) and frame["delta"]
            assert ISO_Z.match(frame["timestamp"])
            deltas.append(frame["delta"])
        final = assert_chat(frame, "assistant")
        assert len(deltas) > 1
        assert "".join(deltas) == final["content"]

        # A client without stream=1 gets the finished reply only.
        _, plain_reply = await expect_turn(plain, line)
        assert plain_reply == final


async def test_several_lines_keep_their_order(sid):
    lines = ["First I listen.", "Then I wait.", "Finally I speak."]
    async with socket(ws_path(sid)) as ws:
        for line in lines:
            await ws.send_json_to({"action": "user_message", "content": line})
            await expect_turn(ws, line)
    log = await stored_log(sid)
    assert [role for _, role, _ in log] == ["user", "assistant"] * 3
    assert [content for _, role, content in log if role == "user"] == lines


async def test_user_message_on_a_session_ended_meanwhile_is_refused(sid):
    async with socket(ws_path(sid)) as ws:
        await end_session(sid)
        await ws.send_json_to({"action": "user_message", "content": "Too late?"})
        await expect_info(ws, "ended")
        await ws.send_json_to({"action": "typing", "value": "x"})
        await expect_info(ws, "boolean")  # still open, still answering
    assert await stored_log(sid) == []


# --- image -------------------------------------------------------------------------------------


@database_sync_to_async
def image_rows(session_id) -> list[tuple[int, str, int, int]]:
    return list(
        GameImage.objects.filter(session_id=session_id).values_list("id", "mime", "width", "height")
    )


def assert_image(frame: dict, prompt: str, mime: str, size: tuple[int, int]) -> None:
    assert frame["kind"] == "image", frame.get("kind")
    assert set(frame) == IMAGE_KEYS, set(frame)
    assert frame["mime"] == mime
    assert frame["alt"] == prompt
    assert isinstance(frame["id"], int)
    assert ISO_Z.match(frame["timestamp"])
    raw = base64.b64decode(frame["data"], validate=True)
    picture = Image.open(io.BytesIO(raw))
    picture.load()
    assert picture.format == {"image/png": "PNG", "image/jpeg": "JPEG"}[mime]
    assert picture.size == size
    assert re.fullmatch(r"/api/ai/images/\d+", frame["url"]), frame["url"]


async def test_image_reaches_every_client(sid, client):
    prompt = "a ruined tower under a red moon"
    async with socket(ws_path(sid)) as a, socket(ws_path(sid)) as b:
        await a.send_json_to({"action": "image", "prompt": prompt})
        frame_a = await receive(a)
        frame_b = await receive(b)
    assert frame_a == frame_b
    assert_image(frame_a, prompt, "image/png", (512, 512))

    served = await sync_to_async(client.get)(frame_a["url"])
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served.content == base64.b64decode(frame_a["data"])
    assert len(await image_rows(sid)) == 1
    log = await stored_log(sid)
    assert log == [(frame_a["id"], "assistant", prompt)]


async def test_image_with_size_and_mime(sid):
    async with socket(ws_path(sid)) as ws:
        await ws.send_json_to(
            {"action": "image", "prompt": "a harbour", "size": "768x768", "mime": "image/jpeg"}
        )
        assert_image(await receive(ws), "a harbour", "image/jpeg", (768, 768))


@pytest.mark.parametrize(
    ("frame", "fragment"),
    [
        ({"action": "image"}, "prompt"),
        ({"action": "image", "prompt": "   "}, "prompt"),
        ({"action": "image", "prompt": 5}, "prompt"),
        ({"action": "image", "prompt": "a cat", "size": "1024x1024"}, "size"),
        ({"action": "image", "prompt": "a cat", "mime": "image/gif"}, "mime"),
        ({"action": "image", "prompt": "p" * 4001}, "4000"),
    ],
)
async def test_bad_image_requests_get_info_and_draw_nothing(sid, frame, fragment):
    async with socket(ws_path(sid)) as ws:
        await ws.send_json_to(frame)
        await expect_info(ws, fragment)
        await ws.send_json_to({"action": "image", "prompt": "a cat"})
        assert_image(await receive(ws), "a cat", "image/png", (512, 512))
    assert len(await image_rows(sid)) == 1


# --- typing ------------------------------------------------------------------------------------


async def test_typing_goes_to_the_others_not_the_sender(sid, token, user):
    async with socket(ws_path(sid, token=token)) as a, socket(ws_path(sid)) as b:
        await a.send_json_to({"action": "typing", "value": True})
        assert await receive(b) == {
            "kind": "info",
            "message": "typing",
            "value": True,
            "userId": user.public_id,
        }

        # b answers only after a's typing went out, so had a been sent its own typing, it would
        # be queued before this one and be the first thing a receives.
        await b.send_json_to({"action": "typing", "value": False})
        frame = await receive(a)
        assert set(frame) == TYPING_KEYS
        assert frame == {"kind": "info", "message": "typing", "value": False, "userId": None}


# --- frames the server refuses -----------------------------------------------------------------

BAD_FRAMES = [
    ("not json {", "json"),
    ("[1, 2, 3]", "object"),
    ('"user_message"', "object"),
    ("42", "object"),
    ("null", "object"),
    (json.dumps({"content": "no action"}), "action"),
    (json.dumps({"action": "shout", "content": "x"}), "shout"),
    (json.dumps({"action": "user_message"}), "content"),
    (json.dumps({"action": "user_message", "content": ""}), "content"),
    (json.dumps({"action": "user_message", "content": "   "}), "content"),
    (json.dumps({"action": "user_message", "content": 12}), "content"),
    (json.dumps({"action": "user_message", "content": ["a"]}), "content"),
    (json.dumps({"action": "typing"}), "boolean"),
    (json.dumps({"action": "typing", "value": "true"}), "boolean"),
    (json.dumps({"action": "typing", "value": 1}), "boolean"),
    (json.dumps({"action": "typing", "value": None}), "boolean"),
]


async def test_bad_frames_get_info_and_the_socket_stays_open(sid):
    async with socket(ws_path(sid)) as a, socket(ws_path(sid)) as b:
        for raw, fragment in BAD_FRAMES:
            await a.send_to(text_data=raw)
            await expect_info(a, fragment)
        await a.send_to(bytes_data=b"\xff\xfe not utf-8")
        await expect_info(a)

        await a.send_json_to({"action": "user_message", "content": "Still here"})
        await expect_turn(a, "Still here")
        # Nothing of the refused frames reached the other client: the turn is its first frame.
        await expect_turn(b, "Still here")
    assert [role for _, role, _ in await stored_log(sid)] == ["user", "assistant"]


async def test_frame_over_the_limit_is_refused(sid):
    limit = settings.GAME_WS_FRAME_MAX_BYTES
    assert limit == 2 * 1024 * 1024
    frame = json.dumps({"action": "user_message", "content": "x" * limit})
    assert len(frame.encode()) > limit
    async with socket(ws_path(sid)) as a, socket(ws_path(sid)) as b:
        await a.send_to(text_data=frame)
        await expect_info(a, "too large", str(limit))
        await a.send_to(bytes_data=frame.encode())
        await expect_info(a, "too large")

        await a.send_json_to({"action": "user_message", "content": "small"})
        await expect_turn(a, "small")
        await expect_turn(b, "small")
    assert [content for _, role, content in await stored_log(sid) if role == "user"] == ["small"]


async def test_content_over_32_kib_is_refused_and_nothing_stored(sid):
    assert settings.MESSAGE_MAX_BYTES == CONTENT_LIMIT
    # Sizes count UTF-8 bytes, not characters: "éé " is 5 bytes in 3 characters.
    at_limit = "éé " * 6553 + "abc"
    over = at_limit + "d"
    assert len(at_limit.encode()) == CONTENT_LIMIT < len(at_limit) * 2
    assert len(over.encode()) == CONTENT_LIMIT + 1
    async with socket(ws_path(sid)) as a, socket(ws_path(sid)) as b:
        await a.send_json_to({"action": "user_message", "content": over})
        await expect_info(a, str(CONTENT_LIMIT))
        assert await stored_log(sid) == []

        await a.send_json_to({"action": "user_message", "content": at_limit})
        await expect_turn(a, at_limit)
        await expect_turn(b, at_limit)  # the refused line never reached b
    assert [content for _, role, content in await stored_log(sid) if role == "user"] == [at_limit]


# --- one store, one broadcast path: REST and the socket ----------------------------------------


async def test_rest_message_reaches_the_socket(sid, client):
    async with socket(ws_path(sid)) as a, socket(ws_path(sid)) as b:
        response = await sync_to_async(client.post)(
            "/api/messages", {"sessionId": sid, "role": "system", "content": "A bell tolls."}
        )
        assert response.status_code == 201, response.content
        message_id = response.json()["id"]
        for ws in (a, b):
            frame = assert_chat(await receive(ws), "system", "A bell tolls.")
            assert frame["id"] == message_id

        response = await sync_to_async(client.post)(
            "/api/messages",
            {"sessionId": sid, "role": "assistant", "content": "You rolled 17.", "type": "dice"},
        )
        assert response.status_code == 201, response.content
        frame = await receive(a)
        assert set(frame) == CHAT_KEYS
        assert frame["id"] == response.json()["id"]
        assert (frame["role"], frame["content"], frame["type"]) == (
            "assistant",
            "You rolled 17.",
            "dice",
        )
        assert (await receive(b)) == frame


async def test_refused_rest_message_reaches_no_socket(sid, client):
    async with socket(ws_path(sid)) as ws:
        response = await sync_to_async(client.post)(
            "/api/messages",
            {"sessionId": sid, "role": "user", "content": "x" * (CONTENT_LIMIT + 1)},
        )
        assert response.status_code == 413
        response = await sync_to_async(client.post)(
            "/api/messages", {"sessionId": sid, "role": "user", "content": "after"}
        )
        assert response.status_code == 201
        assert_chat(await receive(ws), "user", "after")


async def test_rest_ai_dialogue_reaches_the_socket(sid, client):
    async with socket(ws_path(sid)) as ws:
        response = await sync_to_async(client.post)(
            "/api/ai/dialogue",
            {"sessionId": sid, "history": [{"role": "user", "content": "I ring the bell"}]},
        )
        assert response.status_code == 200, response.content
        _, reply = await expect_turn(ws, "I ring the bell")
        assert reply["content"] == response.json()["aiResponse"]


async def test_socket_message_is_readable_over_rest(sid, client):
    async with socket(ws_path(sid)) as ws:
        await ws.send_json_to({"action": "user_message", "content": "I read the map"})
        user, reply = await expect_turn(ws, "I read the map")

    response = await sync_to_async(client.get)("/api/messages", {"sessionId": sid})
    assert response.status_code == 200
    listed = response.json()
    assert [(m["id"], m["role"], m["content"]) for m in listed] == [
        (user["id"], "user", "I read the map"),
        (reply["id"], "assistant", reply["content"]),
    ]
    response = await sync_to_async(client.get)(
        "/api/messages", {"sessionId": sid, "afterId": user["id"]}
    )
    assert [m["id"] for m in response.json()] == [reply["id"]]


# --- the channel layer: frames published elsewhere reach the session's sockets -----------------


@database_sync_to_async
def stored_event(sid: str, content: str, role: str = "system") -> tuple[dict, dict]:
    """A message stored in the session outside the services, and the domain event a service
    publishes for it (`realtime.events`: it names the message), with the frame it becomes."""
    session = GameSession.objects.get(pk=sid)
    message = Message.objects.create(
        session=session, game_id=session.game_id, sequence_number=99, role=role, content=content
    )
    frame = {
        "kind": "chat",
        "id": message.pk,
        "role": role,
        "content": content,
        "type": "chat",
        "timestamp": iso_utc(message.created_at),
    }
    return {"type": "message.stored", "message": {"id": message.pk, "session_id": sid}}, frame


async def test_event_published_on_the_channel_layer_reaches_every_socket(sid):
    """What another part of the server does: announce a stored message to the session's
    group; each socket renders it as its frame."""
    event, frame = await stored_event(sid, "Published.")
    async with socket(ws_path(sid)) as a, socket(ws_path(sid)) as b:
        await get_channel_layer().group_send(f"game.{sid}", event)
        assert await receive(a) == frame
        assert await receive(b) == frame


async def test_frames_of_one_session_stay_in_that_session(sid):
    other = await database_sync_to_async(GameSessionFactory)()
    async with socket(ws_path(sid)) as mine, socket(ws_path(other.pk)) as theirs:
        await theirs.send_json_to({"action": "user_message", "content": "Elsewhere"})
        await expect_turn(theirs, "Elsewhere")
        await mine.send_json_to({"action": "user_message", "content": "Here"})
        await expect_turn(mine, "Here")  # the first frames mine sees are its own session's


IDLE_SECONDS = 7  # longer than redis-py's default 5-second socket read timeout


async def test_an_idle_socket_keeps_receiving(sid):
    """Players read and think: a socket that heard nothing for a while still hears the next
    broadcast (no read timeout of the layer's connection ends it)."""
    async with socket(ws_path(sid)) as a, socket(ws_path(sid)) as b:
        await asyncio.sleep(IDLE_SECONDS)  # players read and think; nothing is sent meanwhile
        await a.send_json_to({"action": "typing", "value": True})
        assert await receive(b) == {
            "kind": "info",
            "message": "typing",
            "value": True,
            "userId": None,
        }
        await b.send_json_to({"action": "user_message", "content": "Back again"})
        await expect_turn(a, "Back again")
        await expect_turn(b, "Back again")


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL (the Redis channel layer)")
async def test_frame_from_another_server_process_reaches_the_socket(sid):
    """A separate layer of the configured class, as another process behind the load balancer
    would hold."""
    other_process = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    assert other_process is not get_channel_layer()
    event, frame = await stored_event(sid, "From afar.", role="assistant")
    try:
        async with socket(ws_path(sid)) as a, socket(ws_path(sid)) as b:
            await other_process.group_send(f"game.{sid}", event)
            assert await receive(a) == frame
            assert await receive(b) == frame
    finally:
        await other_process.flush()


async def test_a_session_id_in_upper_case_joins_the_same_session(sid, client):
    """A UUID names one session whatever its case; the socket joins the group REST
    publishes to."""
    async with socket(ws_path(sid.upper())) as ws:
        response = await sync_to_async(client.post)(
            "/api/messages", {"sessionId": sid, "role": "system", "content": "Thunder."}
        )
        assert response.status_code == 201, response.content
        assert_chat(await receive(ws), "system", "Thunder.")
