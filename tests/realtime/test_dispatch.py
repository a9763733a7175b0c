"""A consumer's dispatch loop (realtime/dispatch.py): one message at a time, in arrival order,
the client read at most one message ahead, a stuck consumer's layer messages bounded, a
source's failure raised, and every reader task gone when the consumer ends."""

from __future__ import annotations

import asyncio
import time

import pytest

from realtime.dispatch import Inbox, dispatch_from, frame_once

TIMEOUT = 10


async def until(condition, timeout: float = TIMEOUT) -> None:
    """Wait until `condition()` holds, polling (never a sleep that guesses how long the loop
    takes)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.001)


async def let_everything_run(rounds: int = 100) -> None:
    """Give every task that can go on many turns of the loop: here nothing waits on I/O or
    time, so what could happen has happened after them, however slow the machine."""
    for _ in range(rounds):
        await asyncio.sleep(0)


async def test_messages_are_dispatched_one_at_a_time_in_arrival_order():
    inbox = Inbox()
    client: asyncio.Queue = asyncio.Queue()
    seen, running = [], {"now": 0, "most": 0}

    async def dispatch(message):
        running["now"] += 1
        running["most"] = max(running["most"], running["now"])
        await asyncio.sleep(0)  # a handler that awaits: the next message must still wait
        seen.append(message["n"])
        running["now"] -= 1
        if message["n"] == 5:
            raise asyncio.CancelledError  # end of the test's stream

    inbox.put_nowait({"n": 0})
    await client.put({"n": 1})
    loop_task = asyncio.ensure_future(dispatch_from([client.get], dispatch, inbox))
    # Each message arrives once the one before it did: the client's, once its reader took
    # it from the client (into the inbox, at once).
    await until(client.empty)
    inbox.put_nowait({"n": 2})
    for n in (3, 4):
        await client.put({"n": n})
        await until(client.empty)
    inbox.put_nowait({"n": 5})
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(loop_task, TIMEOUT)
    assert seen == [0, 1, 2, 3, 4, 5]
    assert running["most"] == 1


async def test_the_client_is_read_at_most_one_message_ahead():
    inbox = Inbox()
    client: asyncio.Queue = asyncio.Queue()
    for n in range(10):
        client.put_nowait({"n": n})
    release = asyncio.Event()
    handling = []

    async def dispatch(message):
        handling.append(message["n"])
        await release.wait()

    loop_task = asyncio.ensure_future(dispatch_from([client.get], dispatch, inbox))
    await until(lambda: handling == [0] and client.qsize() == 8)
    # One message is being handled, one more was read and waits: eight stay unread.
    await let_everything_run()
    assert handling == [0] and client.qsize() == 8
    loop_task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop_task


async def test_a_stuck_consumer_keeps_only_the_newest_layer_messages_and_every_client_one():
    inbox = Inbox(capacity=3)
    taken = asyncio.ensure_future(inbox.put({"type": "websocket.receive"}))
    await asyncio.sleep(0)  # the client's message arrives first
    for n in range(5):
        inbox.put_nowait({"n": n})
    assert inbox.dropped == 2
    got = [(await inbox.get())[0] for _ in range(4)]
    assert got == [{"type": "websocket.receive"}, {"n": 2}, {"n": 3}, {"n": 4}]
    await asyncio.wait_for(taken, TIMEOUT)  # the client's putter went on once it was taken


async def test_a_failing_source_ends_the_loop_with_its_error_and_leaves_no_task():
    async def broken():
        raise ConnectionError("gone")

    async def dispatch(message):
        raise AssertionError("nothing to dispatch")

    before = asyncio.all_tasks()
    with pytest.raises(ConnectionError, match="gone"):
        await asyncio.wait_for(dispatch_from([broken], dispatch), TIMEOUT)
    assert asyncio.all_tasks() - before == set()


def test_a_frame_is_rendered_once_per_event():
    calls = []

    def render(event):
        calls.append(event)
        return f"frame {event['n']}"

    event = {"n": 1}
    assert [frame_once(event, render) for _ in range(100)] == ["frame 1"] * 100
    assert len(calls) == 1
    assert frame_once({"n": 2}, render) == "frame 2"


async def test_typing_news_that_cannot_be_sent_does_not_end_the_socket(monkeypatch, caplog):
    from realtime import publish

    class DownLayer:
        async def group_send(self, group, message):
            raise ConnectionError("Redis is down")

    monkeypatch.setattr(publish, "get_channel_layer", DownLayer)
    await publish.typing(group="game.x", sender="me", value=True, user_id=None)
    assert "Typing news to game.x not sent" in caplog.text
