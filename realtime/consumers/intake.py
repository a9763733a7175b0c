"""What both sockets share: one frame intake, and event dispatch without a thread hop.

The intake takes a client frame through the same steps on every socket, in this order: the
socket may still speak (its right holds), the caller's rate counter, the family's frame size
limit, the REST parser's JSON rules (nesting depth, finite numbers, no NUL or surrogates), a
JSON object, and a handler named by the frame's kind. A frame that fails a step is refused
with one frame in the family's own shape (`refuse`); the socket stays open.

channels' `AsyncConsumer.dispatch` runs `close_old_connections` through `sync_to_async`
before every handler, in the one thread that runs thread-sensitive code: a broadcast to 500
sockets of a process would be 500 hops through that thread, one after another. The hop is
there for handlers that use the database from sync code in that thread. A consumer lists in
`hop_free_events` the events whose handlers do not: handlers that only render a frame, and
handlers that reach the database only through `database_sync_to_async`, which closes stale
connections itself, before and after its call. `dispatch` is the documented place for that
choice (a public method consumers override); every other event goes through channels' own.
The loop that feeds `dispatch` is config/compat/channels.py's (version-guarded): channels'
own makes a task and an `asyncio.wait` per message and socket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from config.api.parsers import JsonInputError, json_parse
from config.compat.channels import FastDispatchMixin
from core.errors import ErrorCode
from core.ratelimit import Rate, hit
from realtime.consumers.rights import RightsWatchMixin

Handler = Callable[[dict], Awaitable[None]]


def choices(names) -> str:
    """`a, b or c`: the kinds a socket takes, for the refusal of an unknown one."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def frame_size(raw) -> int:
    """The size of a frame as the client sent it, in bytes (text frames in UTF-8)."""
    if isinstance(raw, str):
        return len(raw.encode("utf-8"))
    return len(raw or b"")


class FrameIntakeConsumer(FastDispatchMixin, RightsWatchMixin, AsyncWebsocketConsumer):
    """A family's socket: subclasses name their frames' kind field (`kind_field`), the
    setting holding their frame size limit (`frame_limit_setting`), how they refuse a frame
    (`refuse`), who is counted (`frame_rate`) and their handlers (`frame_handlers`)."""

    hop_free_events: frozenset[str] = frozenset()
    # channels' consumers join the groups listed here at connect; these join theirs in
    # `connect`. An empty tuple rather than channels' default, a new empty list per socket.
    groups = ()
    kind_field = "type"
    frame_limit_setting = ""
    not_an_object = "A frame must be a JSON object"

    # --- event dispatch ----------------------------------------------------------------------

    async def dispatch(self, message):
        if message["type"] in self.hop_free_events:
            await getattr(self, get_handler_name(message))(message)
            return
        await super().dispatch(message)

    # --- what a family says ------------------------------------------------------------------

    def frame_handlers(self) -> dict[str, Handler]:
        """The handler of each frame kind, in the order the refusal of an unknown one lists
        them."""
        raise NotImplementedError

    def intake_open(self) -> bool:
        """Whether this socket takes frames at all (it joined, it was not refused)."""
        return True

    def frame_rate(self) -> tuple[str, str, Rate | None]:
        """The rate counter every frame counts against: (scope, caller, rate or None)."""
        raise NotImplementedError

    async def refuse(self, code: ErrorCode, message: str) -> None:
        """Tell the client why its frame was refused, in the family's frame shape."""
        raise NotImplementedError

    # --- the intake ----------------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        frame = await self.frame_intake(text_data if text_data is not None else bytes_data)
        if frame is None:
            return
        handlers = self.frame_handlers()
        kind = frame.get(self.kind_field)
        handler = handlers.get(kind)
        if handler is None:
            await self.refuse(
                ErrorCode.WEBSOCKET_ERROR,
                f"Unknown {self.kind_field}: {kind!r}; use {choices(handlers)}",
            )
            return
        await handler(frame)

    async def frame_intake(self, raw) -> dict | None:
        """The client's frame as a JSON object, or None when it was refused (and told)."""
        if not self.intake_open() or not await self.rights_hold():
            return None
        scope, caller, rate = self.frame_rate()
        if rate is not None:
            counted = await database_sync_to_async(hit)(scope, caller, rate)
            if not counted.allowed:
                await self.refuse(
                    ErrorCode.RATE_LIMITED,
                    f"Too many requests; retry in {counted.retry_after()} seconds",
                )
                return None
        limit = getattr(settings, self.frame_limit_setting)
        size = frame_size(raw)
        if size > limit:
            await self.refuse(
                ErrorCode.PAYLOAD_TOO_LARGE,
                f"Frame too large: {size} bytes; the limit is {limit} bytes",
            )
            return None
        try:
            frame = json_parse(raw or "")
        except JsonInputError as exc:
            message = str(exc) if exc.field else f"Invalid JSON frame: {exc.message}"
            await self.refuse(ErrorCode.WEBSOCKET_ERROR, message)
            return None
        if not isinstance(frame, dict):
            await self.refuse(ErrorCode.WEBSOCKET_ERROR, self.not_an_object)
            return None
        return frame
