"""Readers of chats. Every reader that takes an identity returns only that identity's chats."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

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


def chat_get_own(identity: Identity, chat_id: object) -> Chat:
    """`chat_get_for`, where another identity's chat is as unknown as a missing one (the
    routes added beyond the seed answer 404 to others)."""
    try:
        return chat_get_for(identity, chat_id)
    except ChatNotYours:
        raise ChatNotFound(CHAT_NOT_FOUND) from None


def chat_get_with_messages(identity: Identity, chat_id: object) -> Chat:
    """`chat_get_for`, with the active branch in `chat.branch` (two queries)."""
    chat = chat_get_for(identity, chat_id)
    chat_messages_prefetch(chat)
    return chat


def chat_messages_prefetch(chat: Chat) -> Chat:
    """Load the chat's active branch, root first, into `chat.branch` (one query).

    Each message of it gets `versions` (`MessageVersions`, or None when it has no sibling).
    """
    messages = chat_tree(chat.pk)
    chat.branch = branch_to(messages, chat.leaf_id)
    versions_attach(messages, chat.branch)
    return chat


def chat_tree(chat_pk: uuid.UUID) -> list[Message]:
    """Every message of the chat, every branch, oldest first (one query). A reply's prompt
    record (up to the history budget each) is left in the database: only its route reads it."""
    return list(
        Message.objects.filter(chat_id=chat_pk).defer("prompt").order_by("created_at", "pk")
    )


# --- The message tree (pure: works on the list `chat_tree` loaded) ------------------------
#
# A message's `parent` is the message it follows; siblings (same parent, same role) are
# versions of one turn, oldest first. `Chat.leaf` is the last message of the active branch,
# which is the path leaf -> parent -> ... -> root. Messages stored before the tree existed
# (none has a parent and the chat has no leaf) read as one branch in their stored order.


def branch_to(messages: list[Message], leaf_id: int | None) -> list[Message]:
    """The path from the root to `leaf_id`, root first (the active branch for the leaf)."""
    if leaf_id is None:
        if any(message.parent_id is not None for message in messages):
            leaf_id = messages[-1].pk  # a leaf deleted by hand: the newest message leads
        else:
            return list(messages)
    by_pk = {message.pk: message for message in messages}
    path: list[Message] = []
    node = by_pk.get(leaf_id)
    while node is not None and len(path) < len(messages):  # a bound, never a cycle
        path.append(node)
        node = by_pk.get(node.parent_id)
    path.reverse()
    return path


def newest_leaf_under(messages: list[Message], top: Message) -> Message:
    """The leaf reached from `top` by following, at each level, the newest child."""
    newest: dict[int, Message] = {}
    for message in messages:  # oldest first: the last child seen is the newest
        if message.parent_id is not None:
            newest[message.parent_id] = message
    node, steps = top, 0
    while node.pk in newest and steps < len(messages):
        node, steps = newest[node.pk], steps + 1
    return node


def branch_state(path: list[Message]) -> dict:
    """Family C's state at the end of `path`: the snapshot of its last message that has one
    (each reply stores the state it led to), else empty."""
    for message in reversed(path):
        if message.state_snapshot is not None:
            return dict(message.state_snapshot)
    return {}


def versions_attach(messages: list[Message], branch: list[Message]) -> None:
    """Set `versions` on each message of `branch`: its index among its versions, their
    count and ids (oldest first), or None when it is the only version."""
    linked = any(message.parent_id is not None for message in messages)
    groups: dict[tuple, list[Message]] = {}
    for message in messages:
        groups.setdefault((message.parent_id, message.role), []).append(message)
    for message in branch:
        group = groups[(message.parent_id, message.role)] if linked else [message]
        message.versions = (
            None
            if len(group) < 2
            else {
                "index": group.index(message),
                "count": len(group),
                "ids": [version.client_id for version in group],
            }
        )


def chat_list_for(identity: Identity) -> list[Chat]:
    """The identity's chats, newest first (one query)."""
    return list(
        Chat.objects.filter(**identity.chat_filter())
        .select_related("owner")
        .defer("state")
        .order_by("-created_at", "-pk")
    )


def chat_history(chat: Chat | uuid.UUID | str) -> list[dict]:
    """The active branch's messages as `{role, content}`, root first: a turn's history."""
    chat_pk = chat.pk if isinstance(chat, Chat) else parse_chat_id(chat)
    leaf_id = Chat.all_chats.filter(pk=chat_pk).values_list("leaf_id", flat=True).first()
    branch = branch_to(chat_tree(chat_pk), leaf_id)
    return [{"role": message.role, "content": message.content} for message in branch]
