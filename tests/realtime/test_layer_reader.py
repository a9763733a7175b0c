"""The Redis layer's one reader per process (realtime/layers.py): every socket of the process
gets each group message once, in order, nothing popped for a live channel is dropped, Redis
failing does not end the reader, and the reader stops with the process's last consumer.

These run against the Redis that CI provides (REDIS_URL), each with a layer of its own."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

import pytest
from django.conf import settings

from realtime.dispatch import Inbox
from realtime.layers import PooledRedisChannelLayer

pytestmark = pytest.mark.skipif(
    not settings.REDIS_URL, reason="needs Redis (REDIS_URL); CI runs it"
)

TIMEOUT = 10


@pytest.fixture
async def layer():
    layer = PooledRedisChannelLayer(
        hosts=[settings.REDIS_URL], prefix=f"test-reader-{uuid.uuid4().hex[:8]}"
    )
    yield layer
    await layer.flush()


async def receive(layer, channel):
    return await asyncio.wait_for(layer.receive(channel), TIMEOUT)


async def until(condition, timeout: float = TIMEOUT) -> None:
    """Wait until `condition()` holds, polling (never a sleep that guesses how long the
    reader takes)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def ended(task: asyncio.Task) -> None:
    """Wait for `task` (cancelled, here) to finish."""
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, TIMEOUT)


def reader_running(layer) -> bool:
    return layer._reader is not None and not layer._reader.done()


async def test_a_group_message_reaches_every_local_channel_in_order(layer):
    channels = [await layer.new_channel() for _ in range(50)]
    for channel in channels:
        await layer.group_add("room", channel)
    popped = []
    pop = layer.connection(0).bzpopmin

    async def counted_pop(*args, **kwargs):
        result = await pop(*args, **kwargs)
        if result is not None:
            popped.append(result)
        return result

    layer.connection(0).bzpopmin = counted_pop
    for n in range(3):
        await layer.group_send("room", {"type": "note.said", "n": n})

    got = [[await receive(layer, channel) for _ in range(3)] for channel in channels]

    assert all([m["n"] for m in messages] == [0, 1, 2] for messages in got)
    assert all(m["type"] == "note.said" for messages in got for m in messages)
    # The whole process's copy is written and popped once per message, not once per socket.
    assert len(popped) == 3
    assert layer.dropped == 0


async def test_a_message_sent_before_the_consumer_waits_is_kept(layer):
    first, second = await layer.new_channel(), await layer.new_channel()
    waiting = asyncio.ensure_future(layer.receive(first))
    await until(lambda: reader_running(layer))
    await layer.send(second, {"type": "early"})
    await layer.send(first, {"type": "wake"})
    assert (await asyncio.wait_for(waiting, TIMEOUT))["type"] == "wake"
    # The reader popped `second`'s message before anyone waited on it: it waited in its queue.
    assert (await receive(layer, second))["type"] == "early"


async def test_the_reader_stops_with_the_last_consumer_and_forgets_its_channels(layer):
    channels = [await layer.new_channel() for _ in range(2)]
    waits = [asyncio.ensure_future(layer.receive(channel)) for channel in channels]
    await until(lambda: reader_running(layer))
    reader = layer._reader

    waits[0].cancel()
    await ended(waits[0])  # its consumer is gone: the layer has forgotten its channel
    assert channels[0] not in layer._local
    # The other consumer still listens: the reader was neither stopped nor told to stop.
    assert layer._reader is reader and not reader.done() and not reader.cancelling()
    layer.forget_channel(channels[1])  # a consumer stopped by one of its own handlers
    waits[1].cancel()
    await ended(waits[1])

    await until(reader.done)
    assert reader.cancelled() and layer._reader is None
    assert layer._local == {}
    # A message for a channel whose consumer is gone is dropped and counted, not queued.
    fresh = await layer.new_channel()
    waiting = asyncio.ensure_future(layer.receive(fresh))
    await until(lambda: reader_running(layer))
    await layer.send(channels[0], {"type": "late"})
    await layer.send(fresh, {"type": "wake"})
    assert (await asyncio.wait_for(waiting, TIMEOUT))["type"] == "wake"
    assert layer.dropped == 1 and channels[0] not in layer._local


async def test_redis_failing_does_not_end_the_reader(layer, monkeypatch, caplog):
    monkeypatch.setattr(PooledRedisChannelLayer, "READER_RETRY_PAUSES", (0.01,))
    channel = await layer.new_channel()
    connection = layer.connection(0)
    pop = connection.bzpopmin
    failures = {"left": 3}

    async def flaky_pop(*args, **kwargs):
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("Connection refused")
        return await pop(*args, **kwargs)

    connection.bzpopmin = flaky_pop
    waiting = asyncio.ensure_future(layer.receive(channel))
    await layer.send(channel, {"type": "after.outage"})

    assert (await asyncio.wait_for(waiting, TIMEOUT))["type"] == "after.outage"
    assert failures["left"] == 0
    assert "Channel layer receive failed" in caplog.text
    assert "Channel layer receive works again" in caplog.text


async def test_a_consumer_waits_on_one_future_not_a_lock_race(layer):
    """channels_redis makes each waiting consumer two tasks and an asyncio.wait per message;
    here a receive is one queue wait, so 200 waiting sockets add 1 task (the reader)."""
    channels = [await layer.new_channel() for _ in range(200)]
    before = len(asyncio.all_tasks())
    waits = [asyncio.ensure_future(layer.receive(channel)) for channel in channels]
    await until(lambda: reader_running(layer))  # every receive has started by then
    assert len(asyncio.all_tasks()) - before == len(waits) + 1
    for channel in channels:
        await layer.group_add("crowd", channel)
    await layer.group_send("crowd", {"type": "hello"})
    results = await asyncio.wait_for(asyncio.gather(*waits), TIMEOUT)
    assert [m["type"] for m in results] == ["hello"] * 200


async def test_an_attached_inbox_gets_its_channels_messages_from_the_reader(layer):
    channel = await layer.new_channel()
    waiting = asyncio.ensure_future(layer.receive(await layer.new_channel()))  # a reader runs
    await layer.send(channel, {"type": "before.attach"})
    # Popped and queued for `channel` before its inbox is attached.
    await until(lambda: not layer._local[channel].empty())
    inbox = Inbox()
    layer.attach_channel(channel, inbox)
    await layer.group_add("room", channel)
    await layer.group_send("room", {"type": "after.attach"})

    got = [(await asyncio.wait_for(inbox.get(), TIMEOUT))[0]["type"] for _ in range(2)]

    assert got == ["before.attach", "after.attach"]
    with pytest.raises(RuntimeError, match="attached"):
        await layer.receive(channel)
    waiting.cancel()
    layer.forget_channel(channel)
    await ended(waiting)
    assert layer._reader is None and layer._local == {}


async def test_a_message_that_cannot_be_read_is_skipped_not_fatal(layer, caplog):
    channel = await layer.new_channel()
    waiting = asyncio.ensure_future(layer.receive(channel))
    await until(lambda: reader_running(layer))
    # Bytes no serializer of this layer wrote, straight into the process's channel key.
    key = layer.prefix + layer.non_local_name(channel)
    await layer.connection(0).zadd(key, {b"not a message": 0})
    await layer.send(channel, {"type": "after.garbage"})

    assert (await asyncio.wait_for(waiting, TIMEOUT))["type"] == "after.garbage"
    assert "Channel layer message dropped" in caplog.text
