"""channels' consumer loop without a task and an `asyncio.wait` per message.

`AsyncConsumer.__call__` hands a consumer's two sources (the client, its channel-layer
channel) to `channels.utils.await_many_dispatch`, which for every message a socket gets makes
a new task for that source's next receive and an `asyncio.wait` over both. A broadcast to 500
sockets of a process pays that 500 times: measured (bench/README.md, "Fan-out"), the loop
alone takes 20-28 ms per broadcast to 500 sockets, where one long-lived reader per source
takes 1 ms; that is most of what issue 10's 500-socket target allows.

channels has no hook for the loop. `FastDispatchMixin.__call__` does what channels'
`AsyncConsumer.__call__` does (scope, channel layer, `new_channel`, `channel_receive`,
`base_send`, `StopConsumer` ends it), with `dispatch_from` in place of
`await_many_dispatch`. A consumer still handles one message at a time, in arrival order,
and the client is read at most one message ahead, as there. Channel-layer messages wait in
the consumer's inbox, at most the layer's `capacity` (100) of them, the oldest dropped first
for a consumer that stopped reading (as channels_redis's core layer bounds a channel).
Checked for TESTED; on any other channels version `__call__` is channels' own.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import deque
from collections.abc import Awaitable, Callable
from importlib.metadata import version

from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer

TESTED = ("4.3.2",)
ACTIVE = version("channels") in TESTED


class Inbox:
    """A consumer's messages from all its sources, in the order they arrived.

    The client's messages come through `put`, which waits until the consumer has taken the
    message, so the client is read at most one message ahead. The channel layer's come
    through `put_nowait`, which never waits: past `capacity` waiting layer messages the
    oldest is dropped.

    One per socket, alive as long as it is: slots, and nothing made per wait but the future
    the consumer waits on (every full collection walks every idle socket's objects)."""

    __slots__ = ("capacity", "dropped", "from_layer", "items", "waiter")

    def __init__(self, capacity: int = 100):
        self.capacity = capacity
        self.dropped = 0
        self.items: deque = deque()  # (message, error, future the putter waits on or None)
        self.from_layer = 0
        self.waiter: asyncio.Future | None = None

    def put_nowait(self, message: dict) -> None:
        if self.from_layer >= self.capacity:
            for index, item in enumerate(self.items):
                if item[2] is None:
                    del self.items[index]
                    break
            self.from_layer -= 1
            self.dropped += 1
        self.items.append((message, None, None))
        self.from_layer += 1
        self.wake()

    async def put(self, message: dict | None, error: BaseException | None = None) -> None:
        taken = asyncio.get_running_loop().create_future()
        self.items.append((message, error, taken))
        self.wake()
        await taken

    def wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def take(self) -> tuple[dict | None, BaseException | None]:
        """The oldest message (there is one), its putter let go on."""
        message, error, taken = self.items.popleft()
        if taken is None:
            self.from_layer -= 1
        elif not taken.done():
            taken.set_result(None)
        return message, error

    async def get(self) -> tuple[dict | None, BaseException | None]:
        while not self.items:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        return self.take()


# The readers are plain coroutine functions, not closures: a closure per socket is a function,
# its cells and their tuple, kept for the socket's life.


async def _read_client(inbox: Inbox, client: Callable[[], Awaitable[dict]]) -> None:
    try:
        while True:
            await inbox.put(await client())
    except asyncio.CancelledError:
        raise
    except BaseException as error:  # handed to the dispatch loop, which raises it
        await inbox.put(None, error)


async def _read_layer(inbox: Inbox, layer: Callable[[], Awaitable[dict]]) -> None:
    try:
        while True:
            inbox.put_nowait(await layer())
    except asyncio.CancelledError:
        raise
    except BaseException as error:
        await inbox.put(None, error)


async def _stop(reader: asyncio.Future | None) -> None:
    if reader is not None:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def dispatch_from(
    client: Callable[[], Awaitable[dict]],
    layer: Callable[[], Awaitable[dict]] | None,
    dispatch: Callable[[dict], Awaitable[None]],
    inbox: Inbox | None = None,
) -> None:
    """Dispatch the messages of the client and of the channel layer, one at a time, until a
    handler or a source raises (StopConsumer ends a consumer). A source that fails ends the
    loop with its error."""
    inbox = inbox or Inbox()
    loop = asyncio.get_running_loop()
    client_reader = asyncio.ensure_future(_read_client(inbox, client))
    layer_reader = None if layer is None else asyncio.ensure_future(_read_layer(inbox, layer))
    try:
        while True:
            # Inbox.get, inline: no coroutine made per message.
            while not inbox.items:
                inbox.waiter = loop.create_future()
                try:
                    await inbox.waiter
                finally:
                    inbox.waiter = None
            message, error = inbox.take()
            if error is not None:
                raise error
            await dispatch(message)
            del message  # not kept while the next one is awaited
    finally:
        client_reader.cancel()
        if layer_reader is not None:
            layer_reader.cancel()
        await _stop(client_reader)
        await _stop(layer_reader)


class FastDispatchMixin:
    """For async consumers (`AsyncConsumer` and its subclasses): channels' own loop on a
    channels version this was not checked for."""

    async def __call__(self, scope, receive, send):
        if not ACTIVE:
            return await super().__call__(scope, receive, send)
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        layer_receive = None
        if self.channel_layer is not None:
            self.channel_name = await self.channel_layer.new_channel()
            self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
            layer_receive = self.channel_receive
        self.base_send = send
        inbox = Inbox(getattr(self.channel_layer, "capacity", 100))
        # try/except, not contextlib.suppress: a suppress object and its bound __exit__
        # would be kept for the socket's whole life.
        try:  # StopConsumer: a clean exit, as channels makes it
            await dispatch_from(receive, layer_receive, self.dispatch, inbox)
        except StopConsumer:
            return
