"""Readers of chats. Every reader that takes an identity returns only that identity's chats."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.db.models import Prefetch, prefetch_related_objects

from chats.errors import ChatNotFound, ChatNotYours
from chats.models import Chat, Message

if TYPE_CHECKING:
    from chats.identity import Identity

CHAT_NOT_FOUND = "Chat not found"


def parse_chat_id(chat_id: object) -> uuid.UUID:
    """The UUID a path or body names; anything else names no chat (404)."""
    if isinstance(chat_id, uuid.UUID):
        return chat_id
    try:
        return uuid.UUID(str(chat_id))
    except ValueError:
        raise ChatNotFound(CHAT_NOT_FOUND) from None


def chat_get_for(identity: Identity, chat_id: object) -> Chat:
    """The chat, if `identity` owns it.

    An unknown or malformed id is ChatNotFound; another identity's chat is ChatNotYours
    (family A: 401). Chat ids are random UUIDs, so telling the two apart reveals nothing
    that guessing could exploit.
    """
    try:
        chat = Chat.objects.select_related("owner").get(pk=parse_chat_id(chat_id))
    except Chat.DoesNotExist:
        raise ChatNotFound(CHAT_NOT_FOUND) from None
    if not identity.owns(chat):
        raise ChatNotYours("Unauthorized")
    return chat


def chat_get_with_messages(identity: Identity, chat_id: object) -> Chat:
    """`chat_get_for`, with `chat.messages.all()` prefetched oldest first (two queries)."""
    chat = chat_get_for(identity, chat_id)
    chat_messages_prefetch(chat)
    return chat


def chat_messages_prefetch(chat: Chat) -> Chat:
    """Load the chat's messages, oldest first, into `chat.messages.all()`."""
    prefetch_related_objects(
        [chat], Prefetch("messages", queryset=Message.objects.order_by("created_at", "pk"))
    )
    return chat


def chat_list_for(identity: Identity) -> list[Chat]:
    """The identity's chats, newest first (one query)."""
    return list(
        Chat.objects.filter(**identity.chat_filter())
        .select_related("owner")
        .defer("state")
        .order_by("-created_at", "-pk")
    )


def chat_history(chat: Chat | uuid.UUID | str) -> list[dict]:
    """The chat's messages as `{role, content}`, oldest first: a turn's history."""
    chat_pk = chat.pk if isinstance(chat, Chat) else parse_chat_id(chat)
    return list(
        Message.objects.filter(chat_id=chat_pk)
        .order_by("created_at", "pk")
        .values("role", "content")
    )


def chat_for_turn(chat_id: object) -> Chat:
    """A chat with its character, for a turn's prompt (ChatNotFound once deleted)."""
    try:
        return Chat.objects.select_related("character").get(pk=parse_chat_id(chat_id))
    except Chat.DoesNotExist:
        raise ChatNotFound(CHAT_NOT_FOUND) from None
