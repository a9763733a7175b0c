"""What an idle game socket keeps for the garbage collector (issue 19, the 10,000-socket
broadcast: every full collection walks every socket's GC-tracked objects, bench/README.md
"fanout.py"), and what a broadcast leaves behind in each socket.

Sockets are opened through channels' WebsocketCommunicator against the production application
(`config.asgi.application`: metrics, origin check, JWT middleware, routing, the game consumer
and the project's channel layer). What the server side keeps per socket is the growth of
`gc.get_objects()` over N sockets, less what the same N communicators keep around a bare ASGI
application that only accepts and waits (the communicator's scope, queues and task, which
uvicorn's connection stands for in production)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections import Counter

import channels.db
import django.db
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from config.asgi import application
from realtime import events
from tests.factories import GameSessionFactory

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 10
SOCKETS = 100
AT_ONCE = 50
# GC-tracked objects an idle anonymous game socket keeps in the server, past what a bare
# application keeps. Before this was counted: 64.0 with the in-memory layer, 65.3 with the
# Redis pub/sub one (production's); now 42.0 and 43.3.
IDLE_MAX = 44
# What a broadcast leaves in each socket once delivered: the waits it re-arms (the layer's
# receive, the consumer's inbox), which live until the next message and so reach the
# collector's oldest generation. Before: 10.4 on the pub/sub layer, 15.1 on the in-memory
# one (which also makes its channel's queue anew per message); now 9.4 and 14.1.
BROADCAST_MAX = {"pubsub": 10, "memory": 14.5}


async def bare(scope, receive, send):
    """Accept, then wait for the end: what every ASGI application keeps, at the least."""
    await receive()
    await send({"type": "websocket.accept"})
    while (await receive())["type"] != "websocket.disconnect":
        pass


class _Gone:
    pass


# A dead weak proxy, as other tests of a full run leave in the collector's lists: the counts
# must not trip on it (isinstance on one raises ReferenceError).
_DEAD_PROXY = weakref.proxy(_Gone())


def _kind(obj: object) -> str:
    kind = type(obj)
    if kind is asyncio.Task:
        return f"Task {obj.get_coro().__qualname__}"
    name = getattr(obj, "__qualname__", None) if kind.__name__ == "coroutine" else None
    return f"coroutine {name}" if name else f"{kind.__module__}.{kind.__qualname__}"


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)


async def _open(app, path: str, count: int) -> list[WebsocketCommunicator]:
    sockets = [WebsocketCommunicator(app, path) for _ in range(count)]
    for start in range(0, count, AT_ONCE):
        opened = await asyncio.gather(
            *(socket.connect(timeout=TIMEOUT) for socket in sockets[start : start + AT_ONCE])
        )
        assert all(accepted for accepted, _ in opened), opened
    await _settle()
    return sockets


async def _close(sockets: list[WebsocketCommunicator]) -> None:
    for socket in sockets:
        await socket.disconnect(timeout=TIMEOUT)
    # WebsocketCommunicator stands a no-op in for close_old_connections while it awaits, and
    # communicators awaited together can leave the stand-in in place: put Django's back.
    channels.db.close_old_connections = django.db.close_old_connections


def _alive() -> list:
    """Every tracked object now; the caller holds the list, so that no object made later
    can take the address (the id) of one that died meanwhile."""
    gc.collect()
    return gc.get_objects()


def _new_since(before: list) -> Counter:
    gc.collect()
    ids = {id(obj) for obj in before}
    ids.add(id(before))
    now = gc.get_objects()
    # The communicators' own timeouts: a cancelled timer waits in the loop's heap, with its
    # context, until its time comes or the loop sweeps the heap, whenever that is.
    for obj in now:
        # type(), not isinstance: a dead weak proxy (another test's) raises on isinstance.
        if type(obj) is asyncio.TimerHandle and obj.cancelled():
            ids.update((id(obj), id(obj.get_context())))
    return Counter(_kind(obj) for obj in now if id(obj) not in ids)


async def _kept(app, path: str) -> Counter:
    """The objects `SOCKETS` idle sockets of `app` keep, by kind."""
    before = _alive()
    sockets = await _open(app, path, SOCKETS)
    try:
        return _new_since(before)
    finally:
        await _close(sockets)


def _per_socket(counts: Counter) -> float:
    return sum(counts.values()) / SOCKETS


def _breakdown(counts: Counter, base: Counter | None = None) -> str:
    counts = Counter(counts)
    counts.subtract(base or Counter())
    rows = [f"{n / SOCKETS:6.2f} {kind}" for kind, n in counts.most_common() if n >= SOCKETS / 2]
    return "\n".join(rows)


@pytest.fixture
async def session_path():
    session = await sync_to_async(GameSessionFactory)()
    return f"/ws?sessionId={session.pk}"


async def test_an_idle_game_socket_keeps_few_objects_for_the_collector(session_path):
    # Warm up: imports, caches, the layer's connection, the thread pool.
    await _close(await _open(application, session_path, 5))
    await _close(await _open(bare, session_path, 5))
    base = await _kept(bare, session_path)
    kept = await _kept(application, session_path)
    per_socket = _per_socket(kept) - _per_socket(base)
    print(f"\nan idle game socket keeps {per_socket:.1f} objects:\n{_breakdown(kept, base)}")
    assert per_socket <= IDLE_MAX, _breakdown(kept, base)


async def test_a_broadcast_leaves_few_objects_in_each_socket(session_path):
    await _close(await _open(application, session_path, 5))
    sockets = await _open(application, session_path, SOCKETS)
    try:
        group = events.game_group(session_path.rsplit("=", 1)[1])
        await events.typing(group=group, sender="nobody", value=True, user_id=None)  # warm-up
        for socket in sockets:
            await socket.receive_json_from(timeout=TIMEOUT)
        await _settle()
        before = _alive()
        await events.typing(group=group, sender="nobody", value=False, user_id=None)
        frames = [await socket.receive_json_from(timeout=TIMEOUT) for socket in sockets]
        assert all(frame["value"] is False for frame in frames)
        del frames
        await _settle()
        left = _new_since(before)
    finally:
        await _close(sockets)
    per_socket = _per_socket(left)
    print(f"\na broadcast leaves {per_socket:.1f} objects a socket:\n{_breakdown(left)}")
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    layer = "memory" if backend.endswith("InMemoryChannelLayer") else "pubsub"
    assert per_socket <= BROADCAST_MAX[layer], _breakdown(left)
