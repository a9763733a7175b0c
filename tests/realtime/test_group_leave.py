"""Sockets that close leave their session's group, even when many close at once: a dead member
would stay until the group expires and every broadcast would pay for it.

The Redis test closes hundreds of sockets together and asks Redis who still subscribes to the
group (CI sets REDIS_URL); the other test makes the layer fail and checks the consumer
retries."""

from __future__ import annotations

import asyncio

import pytest
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings

from config.asgi import application
from realtime import events as publish
from realtime import groups
from tests.factories import GameSessionFactory

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 60
SOCKETS = 400


@pytest.fixture(autouse=True)
async def fresh_channel_layer():
    """A new layer per test: a Redis layer's pools belong to one event loop."""
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    yield
    layer = channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    if layer is not None:
        await layer.flush()  # the pub/sub layer closes its connections of this loop


async def open_sockets(session_id: str, count: int, batch: int = 50) -> list:
    sockets = []
    for start in range(0, count, batch):
        group = [
            WebsocketCommunicator(application, f"/ws?sessionId={session_id}&stream=1")
            for _ in range(min(batch, count - start))
        ]
        results = await asyncio.gather(*(ws.connect(timeout=TIMEOUT) for ws in group))
        assert all(connected for connected, _ in results)
        sockets += group
    return sockets


async def subscribers(group: str) -> int:
    """Redis's own count of the subscriptions to `group`'s pub/sub channel, whatever the
    layer names it (the group's name ends it)."""
    from redis.asyncio import from_url

    async with from_url(settings.REDIS_URL) as redis:
        names = await redis.pubsub_channels(f"*{group}")
        return sum(count for _, count in await redis.pubsub_numsub(*names)) if names else 0


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (REDIS_URL); CI runs it")
async def test_hundreds_of_sockets_closing_at_once_all_leave_the_group():
    session_id = str((await asyncio.to_thread(GameSessionFactory)).pk)
    groups = [publish.game_group(session_id), publish.game_stream_group(session_id)]

    sockets = await open_sockets(session_id, SOCKETS)
    # The process subscribes once per group, for all its sockets.
    assert [await subscribers(group) for group in groups] == [1, 1]

    await asyncio.gather(*(ws.disconnect(timeout=TIMEOUT) for ws in sockets))

    assert [await subscribers(group) for group in groups] == [0, 0]


async def test_a_failed_group_removal_is_retried(monkeypatch):
    session_id = str((await asyncio.to_thread(GameSessionFactory)).pk)
    layer = get_channel_layer()
    discard = layer.group_discard
    failures = {"left": 2}

    async def flaky_discard(group, channel):
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("Too many connections")
        await discard(group, channel)

    monkeypatch.setattr(layer, "group_discard", flaky_discard)
    monkeypatch.setattr(groups, "LEAVE_RETRY_PAUSES", (0.01, 0.01, 0.01))
    [ws] = await open_sockets(session_id, 1)
    group = publish.game_group(session_id)
    await ws.disconnect(timeout=TIMEOUT)

    assert failures["left"] == 0
    # The layer keeps no member for the group (the in-memory layer names it as is, the
    # pub/sub layer with its prefix before it).
    assert not any(name.endswith(group) and members for name, members in layer.groups.items())
