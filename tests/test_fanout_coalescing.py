"""Reply deltas to a session's `stream=1` sockets are gathered in short windows
(realtime.events.ReplyDeltas): one event per window for the whole group instead of one per
word, every byte of the reply kept in order, and the final `chat` frame unchanged after them."""

from __future__ import annotations

import asyncio

import pytest
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator

from config.asgi import application
from realtime import events as publish
from tests.factories import GameSessionFactory

TIMEOUT = 10


class Recorder:
    """Stands in for the channel layer's send: the texts of the delta events, in order."""

    def __init__(self):
        self.texts: list[str] = []
        self.sent = asyncio.Event()

    async def __call__(self, *, group, reply_id, text, at):
        assert (group, reply_id) == ("game.s.stream", "r1")
        assert isinstance(at, str)
        self.texts.append(text)
        self.sent.set()


@pytest.fixture
def recorder(monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(publish, "reply_delta", recorder)
    return recorder


async def test_the_first_delta_goes_at_once_and_the_window_s_deltas_go_merged(recorder):
    deltas = publish.ReplyDeltas(group="game.s.stream", reply_id="r1", window=60)
    await deltas.add("The", "2026-01-01T00:00:00Z")
    assert recorder.texts == ["The"]
    for word in (" lamp", " is", " lit."):
        await deltas.add(word, "2026-01-01T00:00:01Z")
    assert recorder.texts == ["The"]  # gathered, the window is still open
    await deltas.flush()
    assert recorder.texts == ["The", " lamp is lit."]
    await deltas.flush()  # nothing left: nothing sent
    assert recorder.texts == ["The", " lamp is lit."]


async def test_what_is_gathered_goes_when_the_window_closes_without_a_flush(recorder):
    deltas = publish.ReplyDeltas(group="game.s.stream", reply_id="r1", window=0.05)
    await deltas.add("One", "t")
    recorder.sent.clear()
    await deltas.add(" two", "t")
    await deltas.add(" three", "t")
    await asyncio.wait_for(recorder.sent.wait(), TIMEOUT)
    assert recorder.texts == ["One", " two three"]


async def test_a_zero_window_sends_every_delta(recorder):
    deltas = publish.ReplyDeltas(group="game.s.stream", reply_id="r1", window=0)
    for word in ("a", " b", " c"):
        await deltas.add(word, "t")
    assert recorder.texts == ["a", " b", " c"]


@pytest.fixture
def fresh_channel_layer():
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    yield
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)


@pytest.mark.django_db(transaction=True)
async def test_a_stream_socket_gets_merged_deltas_that_join_into_the_final_reply(
    settings, fresh_channel_layer
):
    # The offline provider with no delay hands over every word at once; a long window
    # gathers all but the first into one event.
    settings.AI_OFFLINE_DELAY = 0
    settings.GAME_STREAM_COALESCE_SECONDS = 30
    session = await asyncio.to_thread(GameSessionFactory)
    line = "I ring the bell in the tower"
    communicator = WebsocketCommunicator(application, f"/ws?sessionId={session.pk}&stream=1")
    try:
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        await communicator.send_json_to({"action": "user_message", "content": line})
        user = await communicator.receive_json_from(timeout=TIMEOUT)
        assert (user["kind"], user["role"], user["content"]) == ("chat", "user", line)
        deltas = []
        while True:
            frame = await communicator.receive_json_from(timeout=TIMEOUT)
            if frame["kind"] != "chat_delta":
                break
            assert set(frame) == {"kind", "role", "delta", "timestamp"}
            deltas.append(frame["delta"])
        assert (frame["kind"], frame["role"]) == ("chat", "assistant")
        words = frame["content"].split(" ")
        assert len(words) > 2
        assert deltas == [words[0], " " + " ".join(words[1:])]
        assert "".join(deltas) == frame["content"]
    finally:
        await communicator.disconnect(timeout=TIMEOUT)
