"""What both sockets share (realtime/consumers/intake.py, frames.py): an event's frame is made
once per process however many sockets hear it, broadcast events skip the per-event thread
hop while others keep channels' own dispatch, each family has its own frame limit, and typing
news that cannot be sent does not end a socket."""

from __future__ import annotations

import asyncio

import pytest

from realtime import events
from realtime.consumers import intake
from realtime.consumers.frames import frame_once
from realtime.consumers.game import GameConsumer
from realtime.consumers.movie import MovieConsumer

TIMEOUT = 10


async def test_an_event_s_frame_is_rendered_once_for_every_socket_that_hears_it():
    calls = []

    def render(event):
        calls.append(event["n"])
        return f"frame {event['n']}"

    event = {"type": "x", "event_id": events.event_id(), "n": 1}
    # Each socket's consumer gets its own copy of the event from the channel layer.
    frames = [await frame_once(dict(event), render) for _ in range(100)]
    assert frames == ["frame 1"] * 100
    assert calls == [1]
    assert await frame_once({"type": "x", "event_id": events.event_id(), "n": 2}, render) == (
        "frame 2"
    )
    assert calls == [1, 2]


async def test_a_frame_that_loads_is_loaded_once_while_every_socket_waits_for_it():
    loads = []
    release = asyncio.Event()

    async def render(event):
        loads.append(event["event_id"])
        await release.wait()
        return "loaded"

    event = {"type": "x", "event_id": events.event_id()}
    waiting = [asyncio.ensure_future(frame_once(dict(event), render)) for _ in range(50)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.wait_for(asyncio.gather(*waiting), TIMEOUT) == ["loaded"] * 50
    assert len(loads) == 1


def finished_at_once(coroutine):
    """The value of a coroutine that returns without ever suspending (else it fails)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise AssertionError("the coroutine waited")


async def test_a_loading_render_starts_inside_the_first_socket_s_handler():
    # With 100 sockets a plain task began loading only after the other 99 handlers had run.
    started = []
    release = asyncio.Event()

    async def render(event):
        started.append(event["event_id"])
        await release.wait()
        return "loaded"

    event = {"type": "x", "event_id": events.event_id()}
    first = asyncio.ensure_future(frame_once(dict(event), render))
    others = [asyncio.ensure_future(frame_once(dict(event), render)) for _ in range(3)]
    await asyncio.sleep(0)  # each handler has taken one step; the render's first ran in the first
    assert started == [event["event_id"]]
    release.set()
    assert await asyncio.wait_for(asyncio.gather(first, *others), TIMEOUT) == ["loaded"] * 4
    # Done: the text is kept, and a socket that comes later takes it without waiting.
    assert finished_at_once(frame_once(dict(event), render)) == "loaded"
    assert started == [event["event_id"]]


async def test_a_render_that_needs_no_wait_gives_its_frame_without_one():
    async def render(event):
        return "at once"

    event = {"type": "x", "event_id": events.event_id()}
    assert finished_at_once(frame_once(dict(event), render)) == "at once"
    assert finished_at_once(frame_once(dict(event), render)) == "at once"


async def test_a_failed_render_is_not_kept_and_an_event_without_id_renders_each_time():
    calls = []

    async def render(event):
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("first try fails")
        return "ok"

    event = {"type": "x", "event_id": events.event_id()}
    with pytest.raises(ValueError):
        await frame_once(dict(event), render)
    assert await frame_once(dict(event), render) == "ok"
    assert await frame_once({"type": "x"}, render) == "ok"
    assert await frame_once({"type": "x"}, render) == "ok"
    assert len(calls) == 4


class Recording(intake.FrameIntakeConsumer):
    hop_free_events = frozenset({"fast.event"})

    def __init__(self):
        super().__init__()
        self.handled = []

    async def fast_event(self, message):
        self.handled.append(message["type"])

    async def slow_event(self, message):
        self.handled.append(message["type"])


async def test_broadcast_events_skip_the_thread_hop_and_others_keep_channels_dispatch(
    monkeypatch,
):
    hops = []

    async def close_old_connections():
        hops.append(1)

    monkeypatch.setattr("channels.consumer.aclose_old_connections", close_old_connections)
    consumer = Recording()
    await consumer.dispatch({"type": "fast.event"})
    assert (consumer.handled, hops) == (["fast.event"], [])
    await consumer.dispatch({"type": "slow.event"})
    assert (consumer.handled, hops) == (["fast.event", "slow.event"], [1])


def test_each_family_checks_its_own_frame_limit(settings):
    assert GameConsumer.frame_limit_setting == "GAME_WS_FRAME_MAX_BYTES"
    assert MovieConsumer.frame_limit_setting == "MOVIE_WS_FRAME_MAX_BYTES"
    # Both documented at 2 MiB (CONTRACTS.md "Content limits"; seed 003 names none of its own).
    assert settings.GAME_WS_FRAME_MAX_BYTES == settings.MOVIE_WS_FRAME_MAX_BYTES == 2 * 1024**2


def test_a_refusal_of_an_unknown_kind_lists_the_kinds_a_socket_takes():
    assert intake.choices(["a"]) == "a"
    assert intake.choices(["user_message", "image", "typing"]) == "user_message, image or typing"


async def test_typing_news_that_cannot_be_sent_does_not_end_the_socket(monkeypatch, caplog):
    class DownLayer:
        async def group_send(self, group, message):
            raise ConnectionError("Redis is down")

    monkeypatch.setattr(events, "get_channel_layer", DownLayer)
    await events.typing(group="game.x", sender="me", value=True, user_id=None)
    assert "Typing news to game.x not sent" in caplog.text


@pytest.mark.django_db
def test_a_stored_game_message_is_announced_by_id_not_by_its_contents(
    monkeypatch, django_capture_on_commit_callbacks
):
    from games import services
    from tests.factories import GameSessionFactory

    sent = []

    class RecordingLayer:
        async def group_send(self, group, message):
            sent.append((group, message))

    monkeypatch.setattr(events, "get_channel_layer", RecordingLayer)
    session = GameSessionFactory()
    with django_capture_on_commit_callbacks(execute=True):
        message = services.message_create(
            session_id=str(session.pk), role="system", content="Thunder.", actor=None
        )
    [(group, event)] = sent
    assert group == events.game_group(str(session.pk))
    assert event["type"] == "message.stored" and event["event_id"]
    assert event["message"] == {"id": message.pk, "session_id": str(session.pk)}
