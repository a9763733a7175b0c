"""The movie socket's frames of the domain events (seed 003 "WebSocket API"), the same for
every socket of a session, so each is rendered once per event and process
(realtime/consumers/frames.py)."""

from __future__ import annotations

import json

from channels.db import database_sync_to_async

from chats.models import Message
from chats.workflow.records import message_snapshot


@database_sync_to_async
def stored_line(message_pk: int) -> dict | None:
    """The stored line an event names, with its session and author: one query."""
    message = Message.objects.select_related("chat", "author").filter(pk=message_pk).first()
    return None if message is None else message_snapshot(message.chat, message, message.author)


async def stored_frame(event: dict) -> str:
    """A stored line, loaded by the id the event carries: a member's (`message-received`) or
    the AI's reply with its choices (`ai-response`); "" when it is gone."""
    message = await stored_line(event["message"]["id"])
    if message is None:
        return ""
    if message["role"] == "assistant":
        frame = {
            "type": "ai-response",
            "sessionId": message["session_id"],
            "messageId": message["id"],
            "content": message["content"],
            "choices": message["choices"],
            "nextStep": message["next_step"],
            "processingTime": message["processing_time"],
            "timestamp": message["created_at"],
        }
    else:
        frame = {
            "type": "message-received",
            "sessionId": message["session_id"],
            "messageId": message["id"],
            "sender": message["sender"],
            "content": message["content"],
            "attachments": message["attachments"],
            "timestamp": message["created_at"],
        }
    return json.dumps(frame)


def progress_frame(event: dict) -> str:
    """A step of the project's workflow completed (`progress-update`)."""
    progress = event["progress"]
    return json.dumps(
        {
            "type": "progress-update",
            "sessionId": progress["session_id"],
            "projectId": progress["project_id"],
            "progress": {
                "percentage": progress["percentage"],
                "stepCompleted": progress["step_completed"],
                "nextStep": progress["next_step"],
                "completedSteps": progress["completed_steps"],
                "nextSteps": progress["next_steps"],
            },
        }
    )


def typing_frame(event: dict) -> str:
    """Someone else in the session started or stopped typing (`user-typing`)."""
    return json.dumps(
        {
            "type": "user-typing",
            "sessionId": event.get("session_id"),
            "user": event.get("user") or {"id": event["user_id"], "name": None},
            "isTyping": event["value"],
        }
    )
