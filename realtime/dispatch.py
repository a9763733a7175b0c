"""Consumers' event dispatch without a thread hop per event.

channels' `AsyncConsumer.dispatch` runs `close_old_connections` through `sync_to_async`
before every handler, in the one thread that runs thread-sensitive code. A broadcast to a
session of 500 sockets is then 500 hops through that thread, one after the other: most of a
fan-out's time (bench/fanout.py). The hop is there for handlers that use the database from
sync code run in that thread. A consumer lists in `hop_free_events` the events whose handlers
do not: handlers that only render a frame, and handlers that reach the database only through
`database_sync_to_async`, which closes stale connections itself, before and after its call.
Every other event is dispatched as channels does.
"""

from __future__ import annotations

from channels.consumer import get_handler_name


class HopFreeDispatchMixin:
    hop_free_events: frozenset[str] = frozenset()

    async def dispatch(self, message):
        if message["type"] in self.hop_free_events:
            await getattr(self, get_handler_name(message))(message)
            return
        await super().dispatch(message)
