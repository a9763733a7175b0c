"""channels' consumer loop without a task per message (config/compat/channels.py): one message
at a time, in arrival order, the client read at most one message ahead, a stuck consumer's
layer messages bounded, a source's failure raised, no task left behind; channels' own loop
on any other channels version; and a test that fails when the channels pin moves."""

from __future__ import annotations

import asyncio
import time
from importlib.metadata import version

import pytest
from channels.consumer import AsyncConsumer
from django.conf import settings

from config.compat import channels as compat_channels
from config.compat.channels import FastDispatchMixin, Inbox, dispatch_from

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

    layer: asyncio.Queue = asyncio.Queue()
    layer.put_nowait({"n": 0})
    loop_task = asyncio.ensure_future(dispatch_from(client.get, layer.get, dispatch, inbox))
    await until(layer.empty)
    await client.put({"n": 1})
    # Each message arrives once the one before it did: the client's, once its reader took
    # it from the client (into the inbox, at once).
    await until(client.empty)
    layer.put_nowait({"n": 2})
    await until(layer.empty)
    for n in (3, 4):
        await client.put({"n": n})
        await until(client.empty)
    layer.put_nowait({"n": 5})
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

    loop_task = asyncio.ensure_future(dispatch_from(client.get, None, dispatch, inbox))
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
        await asyncio.wait_for(dispatch_from(broken, None, dispatch), TIMEOUT)
    assert asyncio.all_tasks() - before == set()


def test_the_channels_workaround_was_checked_for_the_installed_channels():
    """Fails when the channels pin moves: read config/compat/channels.py again (does
    `AsyncConsumer.__call__` still set `scope`, `channel_layer`, `channel_name`,
    `channel_receive` and `base_send`, then loop over `await_many_dispatch` until
    StopConsumer?), then add the version to TESTED. Until then channels' own loop runs."""
    assert compat_channels.ACTIVE, (version("channels"), compat_channels.TESTED)
    pins = (settings.BASE_DIR / "requirements.txt").read_text().splitlines()
    [pinned] = [line.split("==", 1)[1] for line in pins if line.startswith("channels==")]
    assert pinned in compat_channels.TESTED, (pinned, compat_channels.TESTED)


class Echo(FastDispatchMixin, AsyncConsumer):
    async def websocket_connect(self, message):
        await self.send({"type": "websocket.accept"})

    async def websocket_receive(self, message):
        await self.send({"type": "websocket.send", "text": message["text"]})


# channels' `AsyncConsumer.dispatch` checks the database connection of asgiref's shared sync
# thread between messages (`aclose_old_connections`); one another test left open there is
# then touched, which the test runner refuses a test without database access.
@pytest.mark.django_db
@pytest.mark.parametrize("active", [True, False])
async def test_a_consumer_runs_alike_on_the_workaround_and_on_channels_own_loop(
    monkeypatch, active
):
    monkeypatch.setattr(compat_channels, "ACTIVE", active)
    stock_loop = []
    real = compat_channels.dispatch_from

    async def counting(*args):
        stock_loop.append(1)
        return await real(*args)

    monkeypatch.setattr(compat_channels, "dispatch_from", counting)
    incoming: asyncio.Queue = asyncio.Queue()
    sent = []
    for message in ({"type": "websocket.connect"}, {"type": "websocket.receive", "text": "hi"}):
        incoming.put_nowait(message)

    async def send(message):
        sent.append(message)

    task = asyncio.ensure_future(Echo()({"type": "websocket"}, incoming.get, send))
    await until(lambda: len(sent) == 2 or task.done())
    if task.done():
        task.result()  # the consumer's failure, named
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sent == [{"type": "websocket.accept"}, {"type": "websocket.send", "text": "hi"}]
    assert stock_loop == ([1] if active else [])
