"""The one way the server broadcasts: domain events through the channel layer.

Services say what happened, in domain terms (a message was stored, a reply grew by a piece,
someone is typing), to a group of sockets. Each consumer renders the event as its own family's
frame, so no domain module builds a wire format. Stored things are announced only after the
transaction commits, so a client never hears of a row that was rolled back, and every server
process behind a load balancer (sharing the Redis layer) delivers the event to its own sockets.

Consumers handle the event types as methods: `message.stored` → `message_stored`,
`reply.delta` → `reply_delta`, `user.typing` → `user_typing`, `progress.updated` →
`progress_updated`.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
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
    event = {"type": "message.stored", "message": message}
    transaction.on_commit(lambda: _send(group, event))


async def reply_delta(*, group: str, reply_id: str, text: str, at: str) -> None:
    """A piece of a reply being generated, sent at once (nothing is stored, so there is no
    commit to wait for). Only sockets that asked for deltas are in a stream group, so a reply
    costs the others nothing per word."""
    layer = get_channel_layer()
    await layer.group_send(
        group, {"type": "reply.delta", "reply_id": reply_id, "text": text, "at": at}
    )


def progress_updated(*, group: str, progress: dict) -> None:
    """A project's workflow moved on (a step completed): announce it to `group` once the
    transaction commits. `progress` is the domain's snapshot (percentage, step completed,
    next step, project and session ids)."""
    event = {"type": "progress.updated", "progress": progress}
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
    event = {"type": "user.typing", "sender": sender, "value": value, "user_id": user_id}
    if user is not None:
        event["user"] = user
    if session_id is not None:
        event["session_id"] = session_id
    await layer.group_send(group, event)
