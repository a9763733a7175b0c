"""Consumers' event dispatch without a thread hop per event, and without a task per message.

channels' `AsyncConsumer.dispatch` runs `close_old_connections` through `sync_to_async`
before every handler, in the one thread that runs thread-sensitive code. A broadcast to a
session of 500 sockets is then 500 hops through that thread, one after the other: most of a
fan-out's time (bench/fanout.py). The hop is there for handlers that use the database from
sync code run in that thread. A consumer lists in `hop_free_events` the events whose handlers
do not: handlers that only render a frame, and handlers that reach the database only through
`database_sync_to_async`, which closes stale connections itself, before and after its call.
Every other event is dispatched as channels does.

channels' `await_many_dispatch` also makes, for every message a socket gets, a new task for
the next receive and an `asyncio.wait` over the socket's two sources (the client and the
channel layer): in a broadcast to 100 sockets that machinery was a fifth of the event loop's
time. `dispatch_from` keeps one long-lived reader task per source instead, handing messages
to the consumer through its `Inbox`: a consumer still handles one message at a time, in the
order they arrived, and the client is read at most one message ahead, as before. The Redis
layer (realtime/layers.py) puts the channel's messages into the inbox itself, so a broadcast
wakes each socket's consumer once.

It also tells the channel layer when a consumer ends, so that the layer's reader
(realtime/layers.py) stops queueing messages for its channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import deque
from collections.abc import Awaitable, Callable

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer


class Inbox:
    """A consumer's messages from all its sources, in the order they arrived.

    The client's messages come through `put`, which waits until the consumer has taken the
    message, so the client is read at most one message ahead, as channels does. A channel
    layer that can (realtime.layers: `attach_channel`) puts its messages here itself with
    `put_nowait`, which never waits: past `capacity` waiting layer messages the oldest is
    dropped, as channels_redis's own per-channel buffer does for a consumer that stopped
    reading."""

    def __init__(self, capacity: int = 100):
        self.capacity = capacity
        self.dropped = 0
        self._items: deque = deque()  # (message, error, future the putter waits on or None)
        self._from_layer = 0
        self._waiter: asyncio.Future | None = None

    def put_nowait(self, message: dict) -> None:
        if self._from_layer >= self.capacity:
            for index, item in enumerate(self._items):
                if item[2] is None:
                    del self._items[index]
                    break
            self._from_layer -= 1
            self.dropped += 1
        self._items.append((message, None, None))
        self._from_layer += 1
        self._wake()

    async def put(self, message: dict | None, error: BaseException | None = None) -> None:
        taken = asyncio.get_running_loop().create_future()
        self._items.append((message, error, taken))
        self._wake()
        await taken

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> tuple[dict | None, BaseException | None]:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        message, error, taken = self._items.popleft()
        if taken is None:
            self._from_layer -= 1
        elif not taken.done():
            taken.set_result(None)
        return message, error


async def dispatch_from(
    sources: list[Callable[[], Awaitable[dict]]],
    dispatch: Callable[[dict], Awaitable[None]],
    inbox: Inbox | None = None,
) -> None:
    """Dispatch the messages of every source (and of whatever fills `inbox` itself), one at a
    time, until a handler or a source raises (StopConsumer ends a consumer). A source that
    fails ends the loop with its error."""
    inbox = inbox or Inbox()

    async def read(source) -> None:
        try:
            while True:
                await inbox.put(await source())
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # handed to the dispatch loop, which raises it
            await inbox.put(None, error)

    readers = [asyncio.ensure_future(read(source)) for source in sources]
    try:
        while True:
            message, error = await inbox.get()
            if error is not None:
                raise error
            await dispatch(message)
    finally:
        for reader in readers:
            reader.cancel()
        for reader in readers:
            with contextlib.suppress(asyncio.CancelledError):
                await reader


class HopFreeDispatchMixin:
    """For async consumers (`AsyncConsumer` and its subclasses)."""

    hop_free_events: frozenset[str] = frozenset()

    async def __call__(self, scope, receive, send):
        # channels' AsyncConsumer.__call__, with dispatch_from in place of await_many_dispatch.
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        sources = [receive]
        inbox = Inbox(getattr(self.channel_layer, "capacity", 100))
        if self.channel_layer is not None:
            self.channel_name = await self.channel_layer.new_channel()
            self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
            attach = getattr(self.channel_layer, "attach_channel", None)
            if attach is not None:
                attach(self.channel_name, inbox)  # the layer's reader fills the inbox itself
            else:
                sources.append(self.channel_receive)
        self.base_send = send
        try:
            await dispatch_from(sources, self.dispatch, inbox)
        except StopConsumer:
            pass  # exit cleanly
        finally:
            # channels cancels a waiting receive when the consumer stops, which releases the
            # channel; not when a handler of a channel message stopped it.
            forget = getattr(self.channel_layer, "forget_channel", None)
            if forget is not None and getattr(self, "channel_name", None):
                forget(self.channel_name)

    async def dispatch(self, message):
        if message["type"] in self.hop_free_events:
            await getattr(self, get_handler_name(message))(message)
            return
        await super().dispatch(message)


def frame_once(event: dict, render: Callable[[dict], str]) -> str:
    """The frame `render` makes of `event`, rendered once per event in this process: a
    channel layer that hands one message to several sockets of a process (the Redis layer's
    reader does) hands them the same dict, so the text is kept on it for the others."""
    key = "__frame__" + render.__qualname__
    text = event.get(key)
    if text is None:
        text = event[key] = render(event)
    return text
