"""Sockets that close leave their session's group, even when many close at once: a dead member
would stay until the group expires and every broadcast would pay for it.

The Redis test closes hundreds of sockets together and reads the group's sorted set in Redis
(CI sets REDIS_URL); the other test makes the layer fail and checks the consumer retries."""

from __future__ import annotations

import asyncio

import pytest
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings

from config.asgi import application
from realtime import groups, publish
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
    if layer is not None and hasattr(layer, "close_pools"):
        await layer.close_pools()


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


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (REDIS_URL); CI runs it")
async def test_hundreds_of_sockets_closing_at_once_all_leave_the_group():
    session_id = str((await asyncio.to_thread(GameSessionFactory)).pk)
    layer = get_channel_layer()
    assert layer.pool_max_connections < SOCKETS  # more removals at once than connections
    groups = [publish.game_group(session_id), publish.game_stream_group(session_id)]

    async def members(group: str) -> int:
        connection = layer.connection(layer.consistent_hash(group))
        return await connection.zcard(layer._group_key(group))

    sockets = await open_sockets(session_id, SOCKETS)
    assert [await members(group) for group in groups] == [SOCKETS, SOCKETS]

    await asyncio.gather(*(ws.disconnect(timeout=TIMEOUT) for ws in sockets))

    assert [await members(group) for group in groups] == [0, 0]


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
    if hasattr(layer, "groups"):  # the in-memory layer
        assert not layer.groups.get(group)
    else:
        connection = layer.connection(layer.consistent_hash(group))
        assert await connection.zcard(layer._group_key(group)) == 0
