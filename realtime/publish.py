"""The one way services broadcast: small JSON events through the channel layer, after commit.

Publishing waits for the surrounding transaction to commit, so a client never hears of a row
that was rolled back, and every server process behind a load balancer (sharing the Redis
layer) delivers the event to its own sockets.
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


def _send(group: str, event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, event)
    except Exception:
        # A broadcast failure must not undo a committed write; sockets resync over REST.
        logger.exception("Broadcast to %s failed", group)


def to_group_on_commit(group: str, event: dict) -> None:
    """Send `event` to `group` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: _send(group, event))


def game_event(session_id: str, payload: dict) -> None:
    """Broadcast a server-to-client frame of the game socket (`{kind: ...}`) to a session."""
    to_group_on_commit(game_group(session_id), {"type": "game.frame", "frame": payload})


async def game_delta(session_id: str, delta: str, timestamp: str) -> None:
    """Send a piece of a reply being generated to the session's streaming sockets only, at
    once (it is not stored, so there is no commit to wait for). Sockets without `stream=1`
    are not in that group, so a reply costs them nothing per word."""
    layer = get_channel_layer()
    await layer.group_send(
        game_stream_group(session_id),
        {"type": "game.delta", "delta": delta, "timestamp": timestamp},
    )
