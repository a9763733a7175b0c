"""Contract tests of the movie platform's socket `/api/v1/websocket` (seed 003 "WebSocket API",
CONTRACTS.md "Realtime").

The whole ASGI application of config/asgi.py is driven through channels' WebsocketCommunicator:
origin check, JWT middleware, routing and the consumer, with the project's channel layer and
cache (in-memory by default, Redis when REDIS_URL is set). The model is the offline provider,
or tests/fake_openai.py where a test scripts it. Every wait has a timeout and every
communicator is disconnected, whatever the outcome.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from contextlib import asynccontextmanager

import pytest
from asgiref.sync import sync_to_async
from channels import DEFAULT_CHANNEL_LAYER
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.cache import cache

from accounts.services import tokens_for_user
from chats.models import Chat, Message
from config.asgi import application
from projects.models import Collaborator, Project
from realtime.connection_slots import KEY, ConnectionSlot
from tests.conftest import JsonClient
from tests.factories import UserFactory
from tests.live import asgi_live_server  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/api/v1/websocket"
TIMEOUT = 10
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
MESSAGE_KEYS = {"type", "sessionId", "messageId", "sender", "content", "attachments", "timestamp"}
AI_KEYS = {
    "type",
    "sessionId",
    "messageId",
    "content",
    "choices",
    "nextStep",
    "processingTime",
    "timestamp",
}
ERROR_KEYS = {"type", "code", "message"}


# --- helpers -----------------------------------------------------------------------------------


async def until(condition, timeout: float = TIMEOUT) -> None:
    """Wait until the async `condition()` holds (a test that waits on something polls for it,
    however slow the machine, rather than sleeping a guess)."""
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def bearer(token: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {token}".encode())]


async def token_of(user) -> str:
    """An access token of `user` (issuing one writes to the database)."""
    return await database_sync_to_async(lambda: tokens_for_user(user=user).access)()


async def _settle() -> None:
    """Let writes a consumer started in the background (and their turns) finish before the
    test's loop ends."""
    current = asyncio.current_task()
    pending = [
        task
        for task in asyncio.all_tasks()
        if task is not current
        and not task.done()
        and getattr(task.get_coro(), "__qualname__", "").startswith(("MovieConsumer.", "Turn."))
    ]
    if pending:
        await asyncio.wait(pending, timeout=TIMEOUT)


@asynccontextmanager
async def socket(user=None, *, token: str | None = None, query: bool = False):
    """An accepted, open socket of `user` (header token, or `?token=` with `query`)."""
    token = token or (await token_of(user))
    path = f"{PATH}?token={token}" if query else PATH
    communicator = WebsocketCommunicator(application, path, headers=[] if query else bearer(token))
    try:
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected, "the socket was not accepted"
        yield communicator
    finally:
        await communicator.disconnect(timeout=TIMEOUT)
        await _settle()


async def refusal(path: str = PATH, headers=None) -> tuple[dict, int]:
    """The error frame and close code of a refused connection (accepted first, so that a
    browser can read the code)."""
    communicator = WebsocketCommunicator(application, path, headers=headers or [])
    try:
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected, "the server must accept before closing with a code"
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        output = await communicator.receive_output(timeout=TIMEOUT)
        assert output["type"] == "websocket.close", output
        return frame, output["code"]
    finally:
        await communicator.disconnect(timeout=TIMEOUT)


async def receive(ws) -> dict:
    frame = await ws.receive_json_from(timeout=TIMEOUT)
    assert isinstance(frame, dict) and "type" in frame, frame
    return frame


async def expect_error(ws, code: str) -> str:
    frame = await receive(ws)
    assert frame["type"] == "error", frame
    assert set(frame) == ERROR_KEYS, frame
    assert frame["code"] == code, frame
    assert isinstance(frame["message"], str) and frame["message"]
    return frame["message"]


async def join(ws, session_id: str) -> dict:
    await ws.send_json_to({"type": "join-session", "sessionId": session_id, "userId": "ignored"})
    frame = await receive(ws)
    assert frame["type"] == "session-joined", frame
    return frame


def assert_message_received(frame: dict, session_id: str, sender, content: str) -> None:
    assert frame["type"] == "message-received", frame
    assert set(frame) == MESSAGE_KEYS, frame
    assert frame["sessionId"] == session_id
    assert frame["messageId"].startswith("msg-")
    assert frame["sender"] == {"id": sender.public_id, "name": sender.name, "role": sender.role}
    assert frame["content"] == content
    assert ISO_Z.match(frame["timestamp"])


def assert_ai_response(frame: dict, session_id: str) -> None:
    assert frame["type"] == "ai-response", frame
    assert set(frame) == AI_KEYS, frame
    assert frame["sessionId"] == session_id
    assert frame["content"]
    assert 2 <= len(frame["choices"]) <= 4
    for choice in frame["choices"]:
        assert set(choice) == {"id", "title", "description", "metadata"}
    assert isinstance(frame["processingTime"], int)
    assert ISO_Z.match(frame["timestamp"])


async def expect_turn(ws, session_id: str, sender, content: str) -> tuple[dict, dict]:
    line = await receive(ws)
    assert_message_received(line, session_id, sender, content)
    reply = await receive(ws)
    assert_ai_response(reply, session_id)
    return line, reply


@database_sync_to_async
def make_project(owner, title: str = "Rooftop Heist") -> Project:
    return Project.objects.create(owner=owner, title=title, genre="Action")


@database_sync_to_async
def add_member(project: Project, role: str):
    member = UserFactory()
    Collaborator.objects.create(project=project, user=member, role=role)
    return member


@database_sync_to_async
def make_user(**fields):
    return UserFactory(**fields)


async def rest(user, path: str, body: dict) -> dict:
    client = JsonClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {(await token_of(user))}")
    response = await sync_to_async(client.post)(path, body)
    assert response.status_code == 200, response.content
    return response.json()


async def start_session(user, project: Project) -> dict:
    """A session started over REST, with its first offer of choices."""
    return await rest(
        user, "/api/v1/chat/message", {"projectId": project.pk, "message": "An action movie"}
    )


@pytest.fixture(autouse=True)
async def fresh_channel_layer():
    """Each test gets the channel layer a new server process would have (a Redis layer's
    receive state belongs to one event loop, and every test runs in a loop of its own)."""
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    yield
    layer = channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    if layer is not None:
        await layer.flush()  # the pub/sub layer closes its connections of this loop


@pytest.fixture
def owner(db):
    return UserFactory()


@pytest.fixture
def project(owner):
    return Project.objects.create(owner=owner, title="Rooftop Heist", genre="Action")


@pytest.fixture
def session_id(owner, project) -> str:
    return Chat.all_chats.create(
        kind="project_session",
        public_id="session-" + "5" * 24,
        owner=owner,
        project=project,
        current_step="concept-development",
        status="active",
    ).public_id


# --- connecting --------------------------------------------------------------------------------


async def test_a_token_in_the_header_or_the_query_connects(owner, session_id):
    async with socket(owner) as by_header, socket(owner, query=True) as by_query:
        for ws in (by_header, by_query):
            frame = await join(ws, session_id)
            assert frame == {
                "type": "session-joined",
                "sessionId": session_id,
                "projectId": frame["projectId"],
                "role": "owner",
                "currentStep": "concept-development",
                "status": "active",
            }


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (PATH, []),
        (PATH, bearer("not-a-jwt")),
        (f"{PATH}?token=not-a-jwt", []),
        (PATH, [(b"authorization", b"Basic dXNlcjpwdw==")]),
    ],
)
async def test_a_missing_or_bad_token_gets_an_error_then_4401(path, headers):
    frame, code = await refusal(path, headers)
    assert set(frame) == ERROR_KEYS
    assert frame["type"] == "error" and frame["code"] == "AUTH_REQUIRED"
    assert code == 4401


async def test_an_expired_token_is_refused(owner, settings):
    from datetime import timedelta

    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken.for_user(owner)
    token.set_exp(lifetime=-timedelta(seconds=1))
    frame, code = await refusal(PATH, bearer(str(token)))
    assert (frame["code"], code) == ("AUTH_REQUIRED", 4401)


# --- join-session ------------------------------------------------------------------------------


async def test_only_members_join_and_a_refusal_keeps_the_socket_open(owner, project, session_id):
    stranger = await make_user()
    viewer = await add_member(project, "viewer")
    async with socket(stranger) as ws:
        await ws.send_json_to({"type": "join-session", "sessionId": session_id})
        await expect_error(ws, "ACCESS_DENIED")
        await ws.send_json_to({"type": "join-session", "sessionId": "session-nope"})
        await expect_error(ws, "NOT_FOUND")
        await ws.send_json_to({"type": "join-session"})
        await expect_error(ws, "VALIDATION_ERROR")
        # Still open, and still refused what it may not see.
        await ws.send_json_to({"type": "typing", "sessionId": session_id, "isTyping": True})
        await expect_error(ws, "WEBSOCKET_ERROR")
    async with socket(viewer) as ws:
        assert (await join(ws, session_id))["role"] == "viewer"


# --- chat-message --------------------------------------------------------------------------------


async def test_a_chat_message_reaches_every_member_then_the_ai_response(owner, project):
    first = await start_session(owner, project)
    sid = first["session"]["id"]
    member = await add_member(project, "collaborator")
    async with socket(owner) as mine, socket(member) as theirs, socket(owner) as elsewhere:
        await join(mine, sid)
        await join(theirs, sid)
        await mine.send_json_to(
            {"type": "chat-message", "sessionId": sid, "message": "More stunts", "attachments": []}
        )
        line_a, reply_a = await expect_turn(mine, sid, owner, "More stunts")
        line_b, reply_b = await expect_turn(theirs, sid, owner, "More stunts")
        assert (line_a, reply_a) == (line_b, reply_b)
        # `elsewhere` joined no session: it got none of that. Were the turn's frames queued
        # for it, they would come before its join's answer and before a later broadcast.
        await join(elsewhere, sid)
        await theirs.send_json_to({"type": "typing", "sessionId": sid, "isTyping": True})
        assert (await receive(elsewhere))["type"] == "user-typing"
    stored = await database_sync_to_async(
        lambda: list(
            Message.objects.filter(chat__public_id=sid)
            .order_by("created_at", "pk")
            .values_list("client_id", "role", "content")
        )
    )()
    assert stored[-2] == (line_a["messageId"], "user", "More stunts")
    assert stored[-1] == (reply_a["messageId"], "assistant", reply_a["content"])
    choices = await database_sync_to_async(
        lambda: Message.objects.get(client_id=reply_a["messageId"]).choices
    )()
    assert choices == reply_a["choices"]


async def test_a_rest_message_reaches_the_sockets(owner, project):
    first = await start_session(owner, project)
    sid = first["session"]["id"]
    member = await add_member(project, "collaborator")
    async with socket(owner) as ws:
        await join(ws, sid)
        body = await rest(
            member,
            "/api/v1/chat/message",
            {"projectId": project.pk, "sessionId": sid, "message": "From the web app"},
        )
        line, reply = await expect_turn(ws, sid, member, "From the web app")
        assert line["messageId"] == body["messageId"]
        assert reply["messageId"] == body["aiResponse"]["messageId"]
        assert reply["choices"] == body["aiResponse"]["choices"]


async def test_a_viewer_may_not_write(owner, project):
    first = await start_session(owner, project)
    sid = first["session"]["id"]
    viewer = await add_member(project, "viewer")
    async with socket(viewer) as ws:
        await join(ws, sid)
        await ws.send_json_to({"type": "chat-message", "sessionId": sid, "message": "Hi"})
        await expect_error(ws, "ACCESS_DENIED")
        choice_id = first["aiResponse"]["choices"][0]["id"]
        await ws.send_json_to({"type": "choice-selected", "sessionId": sid, "choiceId": choice_id})
        await expect_error(ws, "ACCESS_DENIED")
    count = await database_sync_to_async(Message.objects.filter(chat__public_id=sid).count)()
    assert count == 2


async def test_a_second_line_while_the_ai_answers_is_a_conflict(owner, project, fake_openai):
    fake_openai.queue_chat("Opening reply.")
    fake_openai.queue_structured(_offer())
    first = await start_session(owner, project)
    sid = first["session"]["id"]
    fake_openai.slow_stream("A slow and thoughtful reply", interval=0.1)
    fake_openai.queue_structured(_offer())
    async with socket(owner) as ws:
        await join(ws, sid)
        await ws.send_json_to({"type": "chat-message", "sessionId": sid, "message": "First"})
        frame = await receive(ws)
        assert_message_received(frame, sid, owner, "First")
        await ws.send_json_to({"type": "chat-message", "sessionId": sid, "message": "Second"})
        assert "still answering" in await expect_error(ws, "CONFLICT")
        reply = await receive(ws)
        assert_ai_response(reply, sid)
        assert reply["content"] == "A slow and thoughtful reply"
        # Once the reply is stored, the session takes lines again.
        fake_openai.queue_structured(_offer())
        await ws.send_json_to({"type": "chat-message", "sessionId": sid, "message": "Third"})
        await expect_turn(ws, sid, owner, "Third")


async def test_a_model_failure_is_told_to_the_sender_only(owner, project, fake_openai):
    fake_openai.queue_chat("Opening reply.")
    fake_openai.queue_structured(_offer())
    first = await start_session(owner, project)
    sid = first["session"]["id"]
    member = await add_member(project, "collaborator")
    fake_openai.queue_chat("A reply whose choices break.")
    fake_openai.queue_structured("not json")
    fake_openai.queue_structured("still not json")
    async with socket(owner) as mine, socket(member) as theirs:
        await join(mine, sid)
        await join(theirs, sid)
        await mine.send_json_to({"type": "chat-message", "sessionId": sid, "message": "Go"})
        assert_message_received(await receive(mine), sid, owner, "Go")
        await expect_error(mine, "AI_SERVICE_ERROR")
        assert_message_received(await receive(theirs), sid, owner, "Go")
        # Nothing of the failure reaches the others: their next frame is a later broadcast.
        await mine.send_json_to({"type": "typing", "sessionId": sid, "isTyping": True})
        assert (await receive(theirs))["type"] == "user-typing"


# --- typing --------------------------------------------------------------------------------------


async def test_typing_reaches_the_others_only(owner, project, session_id):
    member = await add_member(project, "collaborator")
    async with socket(owner) as mine, socket(member) as theirs:
        await join(mine, session_id)
        await join(theirs, session_id)
        await mine.send_json_to(
            {"type": "typing", "sessionId": session_id, "userId": "spoofed", "isTyping": True}
        )
        assert await receive(theirs) == {
            "type": "user-typing",
            "sessionId": session_id,
            "user": {"id": owner.public_id, "name": owner.name},
            "isTyping": True,
        }
        # Not to the typist: the first frame it gets is the other's typing, sent after.
        await theirs.send_json_to({"type": "typing", "sessionId": session_id, "isTyping": False})
        assert await receive(mine) == {
            "type": "user-typing",
            "sessionId": session_id,
            "user": {"id": member.public_id, "name": member.name},
            "isTyping": False,
        }
        await mine.send_json_to({"type": "typing", "sessionId": session_id, "isTyping": "yes"})
        await expect_error(mine, "VALIDATION_ERROR")


# --- choice-selected -----------------------------------------------------------------------------


async def test_a_choice_broadcasts_progress_then_the_ai_response(owner, project):
    first = await start_session(owner, project)
    sid = first["session"]["id"]
    choice = first["aiResponse"]["choices"][0]
    member = await add_member(project, "collaborator")
    async with socket(owner) as mine, socket(member) as theirs:
        await join(mine, sid)
        await join(theirs, sid)
        await theirs.send_json_to(
            {
                "type": "choice-selected",
                "sessionId": sid,
                "choiceId": choice["id"],
                "userId": "ignored",
            }
        )
        for ws in (mine, theirs):
            line = await receive(ws)
            assert_message_received(
                line, sid, member, f"{choice['title']}: {choice['description']}"
            )
            progress = await receive(ws)
            assert progress == {
                "type": "progress-update",
                "sessionId": sid,
                "projectId": project.pk,
                "progress": {
                    "percentage": 8,
                    "stepCompleted": "concept-development",
                    "nextStep": first["aiResponse"]["nextStep"],
                    "completedSteps": ["concept-development"],
                    "nextSteps": progress["progress"]["nextSteps"],
                },
            }
            assert_ai_response(await receive(ws), sid)
        # The same choice again advances nothing; a choice never offered is refused.
        await theirs.send_json_to(
            {"type": "choice-selected", "sessionId": sid, "choiceId": choice["id"]}
        )
        await expect_error(theirs, "CONFLICT")
        await theirs.send_json_to(
            {"type": "choice-selected", "sessionId": sid, "choiceId": "choice-1"}
        )
        await expect_error(theirs, "VALIDATION_ERROR")
        await theirs.send_json_to({"type": "choice-selected", "sessionId": sid})
        await expect_error(theirs, "VALIDATION_ERROR")
        # The refused choices reached no one else: the next frame `mine` gets is a later
        # broadcast.
        await theirs.send_json_to({"type": "typing", "sessionId": sid, "isTyping": True})
        assert (await receive(mine))["type"] == "user-typing"
    await database_sync_to_async(project.refresh_from_db)()
    assert project.completed_steps == ["concept-development"]


# --- bad frames ----------------------------------------------------------------------------------


async def test_bad_frames_get_error_frames_and_the_socket_stays_open(owner, session_id):
    async with socket(owner) as ws:
        await ws.send_to(text_data="{not json")
        await expect_error(ws, "WEBSOCKET_ERROR")
        await ws.send_to(text_data=json.dumps(["join-session"]))
        await expect_error(ws, "WEBSOCKET_ERROR")
        await ws.send_json_to({"type": "dance"})
        assert "dance" in await expect_error(ws, "WEBSOCKET_ERROR")
        await ws.send_json_to({"type": "chat-message", "sessionId": session_id, "message": "x"})
        assert "join" in (await expect_error(ws, "WEBSOCKET_ERROR")).lower()
        await join(ws, session_id)
        await ws.send_json_to({"type": "chat-message", "sessionId": session_id, "message": " "})
        await expect_error(ws, "VALIDATION_ERROR")
        await ws.send_json_to(
            {"type": "chat-message", "sessionId": session_id, "message": "x", "attachments": "a"}
        )
        await expect_error(ws, "VALIDATION_ERROR")
        await ws.send_json_to({"type": "leave-session", "sessionId": session_id})
        assert await receive(ws) == {"type": "session-left", "sessionId": session_id}


async def test_the_movie_socket_checks_its_own_frame_limit(owner, settings):
    """The movie socket's limit is MOVIE_WS_FRAME_MAX_BYTES, not the game's."""
    settings.MOVIE_WS_FRAME_MAX_BYTES = 100
    settings.GAME_WS_FRAME_MAX_BYTES = 10_000
    async with socket(owner) as ws:
        await ws.send_json_to({"type": "typing", "padding": "x" * 200})
        message = await expect_error(ws, "PAYLOAD_TOO_LARGE")
        assert "the limit is 100 bytes" in message


# --- concurrent connections per tier -------------------------------------------------------------


async def _try_open(user) -> WebsocketCommunicator | None:
    """An open socket of `user`, or None when it was refused for too many connections.

    The answer to a frame sent once connected tells which: an open socket answers it (an
    error frame for an empty frame); a refused one said RATE_LIMITED first, and closes."""
    communicator = WebsocketCommunicator(application, PATH, headers=bearer(await token_of(user)))
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    await communicator.send_json_to({})
    frame = await receive(communicator)
    if frame.get("code") == "RATE_LIMITED":
        await communicator.disconnect(timeout=TIMEOUT)
        return None
    assert frame["code"] == "WEBSOCKET_ERROR", frame
    return communicator


async def _open(user, count: int) -> list[WebsocketCommunicator]:
    sockets = []
    try:
        for _ in range(count):
            communicator = await _try_open(user)
            assert communicator is not None, "refused: too many connections"
            sockets.append(communicator)
    except BaseException:
        await _close(sockets)
        raise
    return sockets


async def _open_when_free(user) -> WebsocketCommunicator:
    """A socket of `user` once one of their slots comes free (polled)."""
    opened = []

    async def one_opens() -> bool:
        communicator = await _try_open(user)
        if communicator is not None:
            opened.append(communicator)
        return communicator is not None

    await until(one_opens)
    return opened[0]


async def _close(sockets) -> None:
    for communicator in sockets:
        await communicator.disconnect(timeout=TIMEOUT)


async def test_a_free_user_has_five_connections(owner):
    assert settings.MOVIE_WS_MAX_CONNECTIONS["free"] == 5
    sockets = await _open(owner, 5)
    try:
        frame, code = await refusal(PATH, bearer(await token_of(owner)))
        assert frame["code"] == "RATE_LIMITED" and "5" in frame["message"]
        assert code == 4429
        other = await make_user()
        sockets += await _open(other, 1)  # the limit is per user
        await sockets.pop(0).disconnect(timeout=TIMEOUT)
        sockets += await _open(owner, 1)  # a closed socket frees its slot
    finally:
        await _close(sockets)


async def test_pro_and_enterprise_limits(settings):
    settings.MOVIE_WS_MAX_CONNECTIONS = {"free": 1, "pro": 2, "enterprise": None}
    pro = await make_user(tier="pro")
    enterprise = await make_user(tier="enterprise")
    sockets = await _open(pro, 2)
    try:
        _, code = await refusal(PATH, bearer(await token_of(pro)))
        assert code == 4429
        sockets += await _open(enterprise, 8)
    finally:
        await _close(sockets)


async def test_slots_of_a_crashed_process_expire(owner, settings):
    """A process that died never freed its sockets' slots; they expire a lifetime after their
    last heartbeat, so the user is not locked out for ever."""

    async def claim_all(process: str) -> list[ConnectionSlot]:
        slots = [
            ConnectionSlot(user_pk=owner.pk, tier="free", owner=f"{process}-{index}")
            for index in range(5)
        ]
        for slot in slots:
            assert await slot.claim()
        return slots

    # Slots still alive count, wherever their sockets were (a lifetime far longer than the
    # refusal takes, however slow the machine).
    settings.MOVIE_WS_SLOT_SECONDS = 60
    alive = await claim_all("alive")
    _, code = await refusal(PATH, bearer(await token_of(owner)))
    assert code == 4429
    for slot in alive:
        await slot.release()
    # A process that dies with its five slots: no heartbeat refreshes them, and once their
    # lifetime (a second here) is over, the user connects again.
    settings.MOVIE_WS_SLOT_SECONDS = 1
    await claim_all("dead")
    await _close([await _open_when_free(owner)])


async def test_a_live_socket_keeps_its_slot_with_heartbeats(owner, settings):
    """A live socket's heartbeat keeps its slot taken, even past a lifetime in which the slot
    lapsed (a stalled process): the user stays at their limit."""
    settings.MOVIE_WS_SLOT_SECONDS = 9  # a heartbeat every 3 s
    settings.MOVIE_WS_MAX_CONNECTIONS = {"free": 1, "pro": 20, "enterprise": None}
    sockets = await _open(owner, 1)
    try:
        key = KEY.format(user=owner.pk, slot=0)
        holder = await cache.aget(key)
        assert holder
        await cache.adelete(key)  # the slot lapsed, as if its lifetime had run out

        async def taken_again() -> bool:
            return await cache.aget(key) == holder

        await until(taken_again)  # by the socket's next heartbeat
        _, code = await refusal(PATH, bearer(await token_of(owner)))
        assert code == 4429
    finally:
        await _close(sockets)


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL (the shared Redis cache)")
async def test_connections_are_counted_across_server_processes(owner, asgi_live_server):  # noqa: F811
    """Sockets held by another server process (a server in a process of its own, on the same
    Redis) count against the user's limit here, and closing one there frees a slot here."""
    from websockets.asyncio.client import connect

    url = (
        asgi_live_server.url.replace("http://", "ws://") + f"{PATH}?token={(await token_of(owner))}"
    )
    remote = []
    local = []
    try:
        for _ in range(3):
            remote.append(await connect(url, open_timeout=TIMEOUT))
        local += await _open(owner, 2)
        frame, code = await refusal(PATH, bearer(await token_of(owner)))
        assert (frame["code"], code) == ("RATE_LIMITED", 4429)
        await remote.pop().close()
        # The other process frees the slot as its socket closes: here, one opens again.
        local.append(await _open_when_free(owner))
    finally:
        await _close(local)
        for ws in remote:
            await ws.close()


def _offer(next_step: str = "setting-selection") -> dict:
    return {
        "choices": [
            {
                "title": title,
                "description": f"{title} scenes",
                "metadata": {"difficulty": "medium", "duration": "2-3 episodes"},
            }
            for title in ("Urban Setting", "Military Theme")
        ],
        "nextStep": next_step,
    }


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("[" * 100_000, "deep"),
        ('{"type": "typing", "sessionId": "s", "isTyping": true, "n": 1e400}', "n:"),
        ('{"type": "chat-message", "message": "a\\u0000b"}', "message:"),
    ],
)
async def test_frames_the_rest_parser_refuses_are_error_frames_and_the_socket_stays_open(
    owner, raw, fragment
):
    async with socket(owner) as ws:
        await ws.send_to(text_data=raw)
        message = await expect_error(ws, "WEBSOCKET_ERROR")
        assert fragment in message.lower()
        await ws.send_to(text_data="{}")  # still open: the next frame is answered too
        await expect_error(ws, "WEBSOCKET_ERROR")


async def test_frames_count_against_the_users_tier_limit_like_rest(owner, settings):
    settings.MOVIE_RATE_LIMITS = {**settings.MOVIE_RATE_LIMITS, "free": 3}
    async with socket(owner) as ws:
        for _ in range(3):
            await ws.send_to(text_data="{}")
            await expect_error(ws, "WEBSOCKET_ERROR")
        await ws.send_to(text_data="{}")
        message = await expect_error(ws, "RATE_LIMITED")
        assert "retry in" in message
