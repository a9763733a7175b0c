"""The one way the server broadcasts: domain events through the channel layer.

This is the low layer domain code imports (and the only part of `realtime` it imports); the
consumers, which import the domains, render what is sent here. Services say what happened, in
domain terms (a message was stored, a reply grew by a piece, someone is typing), to a group of
sockets. Each consumer renders the event as its own family's
frame, so no domain module builds a wire format. Stored things are announced only after the
transaction commits, so a client never hears of a row that was rolled back, and every server
process behind a load balancer (sharing the Redis layer) delivers the event to its own sockets.

Consumers handle the event types as methods: `message.stored` → `message_stored`,
`reply.delta` → `reply_delta`, `user.typing` → `user_typing`, `progress.updated` →
`progress_updated`. Every event carries an `event_id`, so that a process renders an event's
frame once for all its sockets (realtime/consumers/frames.py).
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


def game_group(session_id: str) -> str:
    """Channel-layer group of one game session's sockets."""
    return f"game.{session_id}"


def game_stream_group(session_id: str) -> str:
    """The sockets of a session that asked for reply deltas (`stream=1`)."""
    return f"game.{session_id}.stream"


def project_session_group(session_id: str) -> str:
    """Channel-layer group of one movie project chat session's sockets (`session-…` id)."""
    return f"project-session.{session_id}"


def event_id() -> str:
    """A new event's id, unique across processes."""
    return uuid.uuid4().hex


def _send(group: str, event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, event)
    except Exception:
        # A broadcast failure must not undo a committed write; sockets resync over REST.
        logger.exception("Broadcast to %s failed", group)


def message_stored(*, group: str, message: dict) -> None:
    """A message was stored: announce it to `group` once the transaction commits (at once
    outside one). `message` is the domain's snapshot of it."""
    event = {"type": "message.stored", "event_id": event_id(), "message": message}
    transaction.on_commit(lambda: _send(group, event))


async def reply_delta(*, group: str, reply_id: str, text: str, at: str) -> None:
    """A piece of a reply being generated, sent at once (nothing is stored, so there is no
    commit to wait for). Only sockets that asked for deltas are in a stream group, so a reply
    costs the others nothing per word."""
    layer = get_channel_layer()
    event = {"type": "reply.delta", "event_id": event_id(), "reply_id": reply_id}
    await layer.group_send(group, {**event, "text": text, "at": at})


def stream_coalesce_seconds() -> float:
    """Seconds a socket group's reply deltas are gathered into one event (ReplyDeltas)."""
    return settings.GAME_STREAM_COALESCE_SECONDS


class ReplyDeltas:
    """The deltas of one reply to one socket group, gathered in short windows.

    Every event sent to a group costs a frame per socket, and a model sends a word or two per
    delta: a reply of 40 words to 100 sockets is 4,000 frames. Here the first delta goes out
    at once; the ones that follow within `window` seconds of the last send are joined and go
    out together when the window closes (a timer), so a group gets at most one delta event
    per window whatever the model's rate, and the first word is not delayed. The text is
    kept whole and in order: the events' texts joined are the deltas' texts joined. Call
    `flush()` before announcing the stored reply, so every delta precedes the final frame.
    """

    def __init__(self, *, group: str, reply_id: str, window: float | None = None):
        self.group = group
        self.reply_id = reply_id
        self.window = stream_coalesce_seconds() if window is None else window
        self._parts: list[str] = []
        self._at: str | None = None
        self._last_sent = float("-inf")
        self._timer: asyncio.TimerHandle | None = None
        self._timer_task: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self.events_sent = 0

    async def add(self, text: str, at: str) -> None:
        """One delta of the reply, made at `at` (ISO time)."""
        if not text:
            return
        if not self._parts:
            self._at = at  # a merged event carries the time its first piece was made
        self._parts.append(text)
        if self._timer is not None or self._timer_task is not None:
            return  # a send is due at the end of the current window
        loop = asyncio.get_running_loop()
        wait = self._last_sent + self.window - loop.time()
        if wait <= 0:
            await self.flush()
        else:
            self._timer = loop.call_later(wait, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_task = asyncio.get_running_loop().create_task(self._timed_flush())

    async def _timed_flush(self) -> None:
        try:
            await self._send_pending()
        finally:
            self._timer_task = None
            if self._parts and self._timer is None:
                # Deltas came while this send was under way: they go at the next window's end.
                loop = asyncio.get_running_loop()
                wait = max(0.0, self._last_sent + self.window - loop.time())
                self._timer = loop.call_later(wait, self._on_timer)

    async def flush(self) -> None:
        """Send what is gathered now (and wait for a send already under way)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self._send_pending()

    async def _send_pending(self) -> None:
        async with self._lock:  # sends go out one at a time, in order
            if not self._parts:
                return
            text, at = "".join(self._parts), self._at
            self._parts = []
            self._last_sent = asyncio.get_running_loop().time()
            self.events_sent += 1
            try:
                await reply_delta(group=self.group, reply_id=self.reply_id, text=text, at=at)
            except Exception:
                # Deltas are a courtesy (the stored reply follows); a failed send loses no data.
                logger.exception("Sending reply deltas to %s failed", self.group)


def progress_updated(*, group: str, progress: dict) -> None:
    """A project's workflow moved on (a step completed): announce it to `group` once the
    transaction commits. `progress` is the domain's snapshot (percentage, step completed,
    next step, project and session ids)."""
    event = {"type": "progress.updated", "event_id": event_id(), "progress": progress}
    transaction.on_commit(lambda: _send(group, event))


async def typing(
    *,
    group: str,
    sender: str,
    value: bool,
    user_id: str | None,
    user: dict | None = None,
    session_id: str | None = None,
) -> None:
    """Someone in `group` started or stopped typing; `sender` is their socket's channel, so
    that it does not hear its own news. `user` optionally describes them (id, name), and
    `session_id` names the conversation for sockets that follow several."""
    layer = get_channel_layer()
    event = {
        "type": "user.typing",
        "event_id": event_id(),
        "sender": sender,
        "value": value,
        "user_id": user_id,
    }
    if user is not None:
        event["user"] = user
    if session_id is not None:
        event["session_id"] = session_id
    try:
        await layer.group_send(group, event)
    except Exception:
        # A courtesy, like a delta: a layer that is down (Redis gone) must not end the
        # socket that typed.
        logger.warning("Typing news to %s not sent", group, exc_info=True)
