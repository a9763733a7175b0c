"""The SSE transport of chat turns: the engine's typed events (`ai.events`) as AI SDK
UI-message-stream parts.

Each part is an `event: <type>` line and a `data: <json>` line whose JSON carries the same
`"type"`, so a client that reads `event:` names (the seed's) and a Vercel AI SDK `useChat`
client (which reads `data:` only) read one stream. The stream ends with `data: [DONE]`.
While the model is silent, a comment line keeps proxies from closing the connection.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.http import StreamingHttpResponse

from ai import engine, events
from core import metrics

HEADERS = {
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
    "x-vercel-ai-ui-message-stream": "v1",
}
KEEP_ALIVE = b": keep-alive\n\n"
END = b"data: [DONE]\n\n"


def part(kind: str, **fields) -> bytes:
    payload = json.dumps({"type": kind, **fields}, ensure_ascii=False, separators=(",", ":"))
    return f"event: {kind}\ndata: {payload}\n\n".encode()


class PartWriter:
    """Turns engine events into parts; opens and closes text and reasoning blocks."""

    def __init__(self) -> None:
        self.block: str | None = None  # "text" or "reasoning"
        self.block_id = ""
        self.count = 0

    def _switch(self, kind: str) -> list[bytes]:
        out = []
        if self.block == kind:
            return out
        out.extend(self._close())
        self.count += 1
        self.block = kind
        self.block_id = f"{kind[:4]}-{self.count}"
        out.append(part(f"{kind}-start", id=self.block_id))
        return out

    def _close(self) -> list[bytes]:
        if self.block is None:
            return []
        closing = part(f"{self.block}-end", id=self.block_id)
        self.block = None
        return [closing]

    def render(self, event: events.TurnEvent) -> list[bytes]:
        """The parts of one event (none for the events this transport does not show)."""
        if type(event) is events.Delta:  # nearly every event: skip the pattern match
            return [*self._switch("text"), part("text-delta", id=self.block_id, delta=event.text)]
        match event:
            case events.Started(reply_id=reply_id):
                return [part("start", messageId=reply_id)]
            case events.Delta(text=text):
                return [*self._switch("text"), part("text-delta", id=self.block_id, delta=text)]
            case events.Reasoning(text=text):
                return [
                    *self._switch("reasoning"),
                    part("reasoning-delta", id=self.block_id, delta=text),
                ]
            case events.Saved():
                return self._close()
            case events.State(state=state):
                return [part("data-state", data=state)]
            case events.Error(stage="state", message=message):
                # The reply is complete and stored; only the state extraction failed.
                return [part("data-state-error", data={"message": message})]
            case events.Error(message=message):
                return [*self._close(), part("error", errorText=message)]
            case events.Done():
                return [*self._close(), part("finish"), END]
        return []


async def turn_parts(turn: engine.Turn) -> AsyncIterator[bytes]:
    """The SSE body of a turn of this process, read from the turn's own event list.

    Each event is still its own part, but the events that are ready together go out in one
    write (the relay's cost per token is mostly per write). While nothing comes, keep-alive
    comments. Leaving early (the client went away) only stops this reader.
    """
    writer = PartWriter()
    seen = 0
    keep_alive = settings.SSE_KEEP_ALIVE_SECONDS
    while True:
        logged = turn.events
        if seen < len(logged):
            ready = logged[seen:]
            seen += len(ready)
            chunk = b"".join([piece for event in ready for piece in writer.render(event)])
            if chunk:
                yield chunk
            if isinstance(ready[-1], events.Done):
                return
            continue
        if turn.finished:
            break
        try:
            async with asyncio.timeout(keep_alive):
                await turn.changed(seen)
        except TimeoutError:
            yield KEEP_ALIVE
    # The turn ended without `done` (it never started streaming): say so, never cut.
    yield part("error", errorText="The reply was interrupted; please retry")
    yield END


async def stream_parts(source: AsyncIterator[events.TurnEvent]) -> AsyncIterator[bytes]:
    """The SSE body of a turn's events, with keep-alive comments while nothing comes.

    Leaving early (the client went away) only stops this reader; the turn goes on.
    """
    writer = PartWriter()
    iterator = aiter(source)
    pending: asyncio.Task | None = None
    finished = False
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({pending}, timeout=settings.SSE_KEEP_ALIVE_SECONDS)
            if not done:
                yield KEEP_ALIVE
                continue
            try:
                event = pending.result()
            except StopAsyncIteration:
                break
            finally:
                pending = None
            chunk = b"".join(writer.render(event))
            if chunk:
                yield chunk
            if isinstance(event, events.Done):
                finished = True
                break
        if not finished:
            # The log ended without `done` (a process died mid-turn): say so, never cut.
            yield part("error", errorText="The reply was interrupted; please retry")
            yield END
    finally:
        if pending is not None:
            pending.cancel()


async def connections_released() -> None:
    """Let the request's thread give back its database connections as their configured
    lifetime says (the rule of Django's `close_old_connections`; on PostgreSQL, to the
    pool). Django does that only when the response ends, and a stream lasts as long as its
    reply: fifty stream requests, each holding the connection its identity was read with
    while waiting for its start's database batch (another connection), took the whole pool
    (20) and waited on one another until they failed with 503 (bench/sse_relay.py on
    PostgreSQL). A connection inside a transaction is left alone (a test's: closing it there
    would drop it without giving it back to the pool)."""
    await sync_to_async(connections_give_back)()


def connections_give_back() -> None:
    """`connections_released`, from the request's own thread (a sync step it runs anyway)."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


def sse_response(source: engine.Turn | AsyncIterator[events.TurnEvent]) -> StreamingHttpResponse:
    """A turn of this process (read directly), or any iterator of events (a replay log).
    Give the request's connections back first (`connections_released`, or
    `connections_give_back` on its thread): the stream lasts as long as the reply."""
    body = turn_parts(source) if isinstance(source, engine.Turn) else stream_parts(source)
    body = metrics.sse_stream(body)
    response = StreamingHttpResponse(body, content_type="text/event-stream; charset=utf-8")
    for name, value in HEADERS.items():
        response[name] = value
    return response
