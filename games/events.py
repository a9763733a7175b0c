"""What the game domain tells the rest of the server when it stores something.

Events are plain data in domain terms (no family's wire format): each socket consumer renders
them as its own frames. They travel through the channel layer, so they hold only what msgpack
carries (strings, numbers, bytes, lists, dicts).
"""

from __future__ import annotations

from core.times import iso_utc
from games.models import Message


def message_snapshot(message: Message) -> dict:
    """A stored message of a session's log, with its picture when it has one."""
    snapshot = {
        "id": message.pk,
        "session_id": str(message.session_id),
        "role": message.role,
        "content": message.content,
        "type": message.type,
        "stopped": message.stopped,
        "created_at": iso_utc(message.created_at),
        "image": None,
    }
    if message.image_id:
        image = message.image
        snapshot["image"] = {
            "id": image.pk,
            "mime": image.mime,
            "data": bytes(image.data),
            "url": message.image_url,
        }
    return snapshot
