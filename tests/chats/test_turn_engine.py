"""The one turn engine (ai/engine.py): a turn outlives its client, stops on request, is
bounded in number, and tells its events in order.

Turns are driven through the game's services and socket (the first family on the engine) and
the real openai SDK path against the local fake server, so a stop is seen from the upstream
side too.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from ai import engine, events
from config.asgi import application
from games import ai_services
from games.models import Message
from tests.factories import GameSessionFactory

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 10
WORDS = " ".join(f"word{i}" for i in range(40))


@pytest.fixture
async def session():
    return await database_sync_to_async(GameSessionFactory)()


async def wait_for(predicate, timeout: float = TIMEOUT) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def deltas_of(turn: engine.Turn) -> list[str]:
    return [e.text for e in turn.events if isinstance(e, events.Delta)]


@database_sync_to_async
def stored(session_id) -> list[Message]:
    return list(Message.objects.filter(session_id=session_id).order_by("id"))


@asynccontextmanager
async def socket(path: str):
    communicator = WebsocketCommunicator(application, path)
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    try:
        yield communicator
    finally:
        await communicator.disconnect(timeout=TIMEOUT)


async def test_events_come_in_order_and_the_reply_is_stored(session, fake_openai):
    fake_openai.slow_stream("the lamp is lit", interval=0.01, reasoning="think first")
    task = asyncio.create_task(
        ai_services.user_message(session_id=str(session.pk), content="Light it", actor=None)
    )
    await wait_for(lambda: engine.in_flight(ai_services.turn_key(str(session.pk))) is not None)
    turn = engine.in_flight(ai_services.turn_key(str(session.pk)))
    kinds_seen = [event.kind async for event in turn.subscribe()]
    message = await task

    assert kinds_seen[0] == engine.STARTED
    assert kinds_seen[1:3] == [engine.REASONING, engine.REASONING]
    assert kinds_seen[-2:] == [engine.SAVED, engine.DONE]
    assert set(kinds_seen[3:-2]) == {engine.DELTA}
    assert "".join(deltas_of(turn)) == "the lamp is lit"
    assert turn.events[0].reply_id.startswith("msg-")
    saved = turn.events[-2]
    assert isinstance(saved, events.Saved) and (saved.message, saved.stopped) == (message, False)
    rows = await stored(session.pk)
    assert [(m.role, m.content, m.stopped) for m in rows] == [
        ("user", "Light it", False),
        ("assistant", "the lamp is lit", False),
    ]
    assert engine.in_flight(ai_services.turn_key(str(session.pk))) is None


async def test_a_late_subscriber_replays_from_the_first_event(session, fake_openai):
    fake_openai.slow_stream("one two three four five", interval=0.02)
    task = asyncio.create_task(
        ai_services.user_message(session_id=str(session.pk), content="Go", actor=None)
    )
    key = ai_services.turn_key(str(session.pk))
    await wait_for(lambda: engine.in_flight(key) is not None)
    turn = engine.in_flight(key)
    await wait_for(lambda: len(deltas_of(turn)) >= 2)

    replayed = [event async for event in turn.subscribe()]
    await task

    assert replayed[0].kind == engine.STARTED
    assert "".join(e.text for e in replayed if isinstance(e, events.Delta)) == (
        "one two three four five"
    )


async def test_a_client_that_disconnects_mid_stream_still_gets_the_whole_reply_stored(
    session, fake_openai
):
    fake_openai.slow_stream(WORDS, interval=0.02)
    async with socket(f"/ws?sessionId={session.pk}&stream=1") as ws:
        await ws.send_json_to({"action": "user_message", "content": "Tell me everything"})
        user = await ws.receive_json_from(timeout=TIMEOUT)
        assert (user["kind"], user["role"]) == ("chat", "user")
        first = await ws.receive_json_from(timeout=TIMEOUT)
        assert first["kind"] == "chat_delta"
    # The socket is gone; the turn goes on in its own task and stores the whole reply.
    key = ai_services.turn_key(str(session.pk))
    await wait_for(lambda: engine.in_flight(key) is None)
    rows = await stored(session.pk)
    assert [(m.role, m.content, m.stopped) for m in rows] == [
        ("user", "Tell me everything", False),
        ("assistant", WORDS, False),
    ]
    assert not fake_openai.disconnected.is_set()


async def test_stop_stores_the_partial_reply_marked_stopped_and_closes_the_upstream_call(
    session, fake_openai
):
    fake_openai.slow_stream(WORDS, interval=0.05)
    task = asyncio.create_task(
        ai_services.user_message(session_id=str(session.pk), content="Begin", actor=None)
    )
    key = ai_services.turn_key(str(session.pk))
    await wait_for(lambda: engine.in_flight(key) is not None)
    turn = engine.in_flight(key)
    await wait_for(lambda: len(deltas_of(turn)) >= 3)

    assert turn.stop() is True
    message = await task

    partial = "".join(deltas_of(turn)).strip()
    assert message.stopped is True
    assert message.content == partial
    assert WORDS.startswith(partial) and len(partial) < len(WORDS)
    saved = turn.events[-2]
    assert isinstance(saved, events.Saved) and (saved.message, saved.stopped) == (message, True)
    assert turn.events[-1].kind == engine.DONE
    rows = await stored(session.pk)
    assert [(m.role, m.content, m.stopped) for m in rows][-1] == ("assistant", partial, True)
    # The upstream HTTP call was closed, not left to run to its end.
    assert await asyncio.to_thread(fake_openai.disconnected.wait, TIMEOUT)
    assert turn.stop() is False  # nothing left to stop


async def test_a_stop_before_any_text_stores_nothing(session, fake_openai):
    fake_openai.slow_stream(WORDS, interval=0.5)
    task = asyncio.create_task(
        ai_services.user_message(session_id=str(session.pk), content="Wait", actor=None)
    )
    key = ai_services.turn_key(str(session.pk))
    await wait_for(lambda: engine.in_flight(key) is not None)
    engine.in_flight(key).stop()

    assert await task is None
    rows = await stored(session.pk)
    assert [(m.role, m.content) for m in rows] == [("user", "Wait")]


async def test_past_the_bound_a_rest_caller_gets_busy_in_the_game_body(
    session, fake_openai, settings, client
):
    settings.AI_TURNS_MAX_CONCURRENT = 1
    fake_openai.slow_stream(WORDS, interval=0.05)
    held = asyncio.create_task(
        ai_services.user_message(session_id=str(session.pk), content="First", actor=None)
    )
    key = ai_services.turn_key(str(session.pk))
    await wait_for(lambda: engine.in_flight(key) is not None)
    other = await database_sync_to_async(GameSessionFactory)()

    response = await sync_to_async(client.post)(
        "/api/ai/dialogue",
        {"sessionId": str(other.pk), "history": [{"role": "user", "content": "Second"}]},
    )

    assert response.status_code == 503, response.content
    body = response.json()
    assert set(body) == {"error"} and "busy" in body["error"].lower()
    assert int(response["Retry-After"]) >= 1
    assert await stored(other.pk) == []  # nothing was written for the refused turn
    engine.in_flight(key).stop()
    await held


async def test_past_the_bound_a_socket_gets_an_info_frame_and_nothing_starts(session, settings):
    settings.AI_TURNS_MAX_CONCURRENT = 0
    async with socket(f"/ws?sessionId={session.pk}") as ws:
        await ws.send_json_to({"action": "user_message", "content": "Anyone?"})
        frame = await ws.receive_json_from(timeout=TIMEOUT)
        assert frame["kind"] == "info" and set(frame) == {"kind", "message"}
        assert "busy" in frame["message"].lower()
    assert await stored(session.pk) == []


async def test_a_failed_prepare_reaches_the_caller_and_nothing_runs(session):
    await database_sync_to_async(Message.objects.all().delete)()
    with pytest.raises(Exception) as caught:
        await ai_services.user_message(
            session_id="00000000-0000-0000-0000-000000000000", content="Hi", actor=None
        )
    assert caught.value.code == "NOT_FOUND"
    assert engine.running_count() == 0


# --- limits on AI turns and socket frames (issue 9) ---------------------------------------------


def dialogue_body(session, content: str) -> dict:
    return {"sessionId": str(session.pk), "history": [{"role": "user", "content": content}]}


async def test_ai_turns_per_caller_are_limited_over_rest_with_nothing_started(
    session, settings, client
):
    settings.AI_TURN_RATE = "2/day"
    post = sync_to_async(client.post)
    for n in range(2):
        response = await post("/api/ai/dialogue", dialogue_body(session, f"line {n}"))
        assert response.status_code == 200, response.content
    refused = await post("/api/ai/dialogue", dialogue_body(session, "one more"))

    assert refused.status_code == 429
    assert set(refused.json()) == {"error"} and "too many ai" in refused.json()["error"].lower()
    assert 1 <= int(refused["Retry-After"]) <= 86400
    assert [m.content for m in await stored(session.pk) if m.role == "user"] == [
        "line 0",
        "line 1",
    ]


async def test_ai_turns_per_caller_are_limited_over_the_socket_too(session, settings):
    settings.AI_TURN_RATE = "1/day"
    async with socket(f"/ws?sessionId={session.pk}") as ws:
        await ws.send_json_to({"action": "user_message", "content": "first"})
        for _ in range(2):  # the user line, then the reply
            frame = await ws.receive_json_from(timeout=TIMEOUT)
            assert frame["kind"] == "chat"
        await ws.send_json_to({"action": "user_message", "content": "second"})
        frame = await ws.receive_json_from(timeout=TIMEOUT)
        assert frame["kind"] == "info" and "too many ai" in frame["message"].lower()
    assert [m.content for m in await stored(session.pk) if m.role == "user"] == ["first"]


async def test_a_conversation_takes_a_bounded_number_of_replies_at_once(
    session, settings, fake_openai, client
):
    settings.AI_TURNS_PER_CONVERSATION = 1
    fake_openai.slow_stream(WORDS, interval=0.05)
    held = asyncio.create_task(
        ai_services.user_message(session_id=str(session.pk), content="First", actor=None)
    )
    key = ai_services.turn_key(str(session.pk))
    await wait_for(lambda: engine.in_flight(key) is not None)

    refused = await sync_to_async(client.post)("/api/ai/dialogue", dialogue_body(session, "Second"))

    assert refused.status_code == 409
    assert "in progress" in refused.json()["error"]
    engine.in_flight(key).stop()
    await held
    assert "Second" not in [m.content for m in await stored(session.pk)]


async def test_socket_frames_count_against_the_same_limit_as_rest(session, settings, client):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "game": "3/day"}
    # A REST request from the socket's address uses up part of the same limit first.
    assert (await sync_to_async(client.get)("/api/game_titles")).status_code == 200
    communicator = WebsocketCommunicator(application, f"/ws?sessionId={session.pk}")
    communicator.scope["client"] = ("127.0.0.1", 50123)  # the test client's REMOTE_ADDR
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    try:
        # Two frames within the limit, each answered (a refused one would be answered "too
        # many requests" instead), then one past it.
        for _ in range(2):
            await communicator.send_json_to({"action": "typing", "value": "yes"})
            frame = await communicator.receive_json_from(timeout=TIMEOUT)
            assert frame == {"kind": "info", "message": "typing needs a boolean value"}
        await communicator.send_json_to({"action": "typing", "value": True})
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        assert frame["kind"] == "info" and "too many requests" in frame["message"].lower()
        assert int(frame["message"].split("retry in ")[1].split()[0]) >= 1
    finally:
        await communicator.disconnect(timeout=TIMEOUT)
