"""Writers of the message tree (families A and C): where a turn's reply goes, regenerate,
edit, and switching versions.

Every writer locks the chat's row first (`services.chat_locked`), then loads the chat's
messages once and works on the tree in Python (`selectors.branch_to` and friends).

Where a streamed turn's user line goes (`turn_submit`), the rule that finds an edit:
the request's last `user` message is the line the reply answers;
1. its id is stored with the same text: that stored line is answered again (its new reply
   is another version beside any earlier one);
2. its id is stored with other text: an edit. The new text becomes a new version of that
   line (same parent), under the id the client keeps; the old version gets a new server id
   (`msg-…`) and stays in the tree with what followed it, as the other branch;
3. its id is new (or it has none): a new line, following the message before it in the
   request when that one's id is stored, else the chat's active leaf.
The rest of the request's history is not written: stored messages keep their stored text.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from chats import selectors, services
from chats.errors import InvalidChatInput, MessageNotFound
from chats.models import Chat, Message, MessageRole

MESSAGE_NOT_FOUND = "Message not found"


@dataclass
class TurnPlace:
    """Where a turn's reply goes: after `parent`, answering `line` (the user line, None when
    the reply follows another kind of message), with the branch up to `parent` as its
    history and family C's state at `parent`."""

    parent: Message
    line: Message | None
    history: list[dict]
    state: dict


def turn_submit(
    chat: Chat,
    *,
    client_id: str | None,
    content: str,
    previous_id: str | None,
    on_history: Callable[[list[dict], dict], None] | None = None,
) -> TurnPlace:
    """Store (or find, or edit) a turn's user line by the rule above; it becomes the leaf.
    Call inside a transaction, with `chat` as `services.chat_locked` read it.

    `on_history(history, state)` is called with the place's history and state as soon as they
    are known: for a new line (or an edit's new version), before it is written, so the model
    can be asked while the writes run (`engine.plan_known`)."""
    services.message_content_check(content)
    leaf_id, state = chat.leaf_id, chat.state
    messages = selectors.chat_tree(chat.pk)
    by_id = {message.client_id: message for message in messages}
    stored = by_id.get(client_id) if client_id else None
    if stored is not None and stored.role != MessageRole.USER:
        raise InvalidChatInput(
            f"Invalid messages: message {client_id} is stored with role {stored.role}, not user"
        )
    if stored is not None and stored.content == content:
        line = stored
    else:
        if stored is not None:
            # The client keeps the id on the new version: the old one takes a new server id.
            stored.client_id = services.new_client_id()
            stored.save(update_fields=["client_id", "updated_at"])
            parent_id = stored.parent_id
        else:
            previous = by_id.get(previous_id) if previous_id else None
            parent_id = previous.pk if previous is not None else leaf_id
        line = Message(
            chat_id=chat.pk,
            client_id=client_id or services.new_client_id(),
            role=MessageRole.USER,
            content=content,
            parent_id=parent_id,
        )
        if on_history is not None:
            path = [*selectors.branch_to(messages, parent_id), line] if parent_id else [line]
            on_history(_history(path), _start_state(path, line, leaf_id, state))
            on_history = None  # told
        line.save(force_insert=True)
        messages.append(line)
    return _place(
        chat.pk, messages, parent=line, line=line, leaf_id=leaf_id, state=state, known=on_history
    )


def turn_regenerate(chat: Chat, *, message_id: str | None) -> TurnPlace:
    """Place a new version of the assistant reply `message_id`: it follows the same parent,
    whose branch becomes active (the old reply stays, an earlier version). Without an id,
    the active leaf's reply is regenerated, or a leaf user line is answered (the AI SDK's
    `regenerate()` after a failed reply). Call inside a transaction, with `chat` as
    `services.chat_locked` read it."""
    leaf_id, state = chat.leaf_id, chat.state
    messages = selectors.chat_tree(chat.pk)
    by_pk = {message.pk: message for message in messages}
    if message_id:
        target = next((m for m in messages if m.client_id == message_id), None)
        if target is None:
            raise MessageNotFound(MESSAGE_NOT_FOUND)
    else:
        target = by_pk.get(leaf_id)
        if target is None:
            raise InvalidChatInput("messageId: The chat has no reply to regenerate")
        if target.role == MessageRole.USER:
            return _place(
                chat.pk, messages, parent=target, line=target, leaf_id=leaf_id, state=state
            )
    if target.role != MessageRole.ASSISTANT:
        raise InvalidChatInput("messageId: Must name an assistant reply")
    parent = by_pk.get(target.parent_id)
    if parent is None:
        raise InvalidChatInput(
            "messageId: An opening message answers no turn; switch between its versions instead"
        )
    line = parent if parent.role == MessageRole.USER else None
    return _place(chat.pk, messages, parent=parent, line=line, leaf_id=leaf_id, state=state)


def _place(
    chat_pk: uuid.UUID,
    messages: list[Message],
    *,
    parent: Message,
    line: Message | None,
    leaf_id: int | None,
    state: dict,
    known: Callable[[list[dict], dict], None] | None = None,
) -> TurnPlace:
    """Make `parent` the leaf; off the active branch's end, the chat takes the state the new
    branch holds. `known(history, state)`, if given, is called before these writes."""
    path = selectors.branch_to(messages, parent.pk)
    branch = _start_state(path, parent, leaf_id, state)
    history = _history(path)
    if known is not None:
        known(history, branch)
    if parent.pk != leaf_id:
        services.leaf_set(chat_pk, parent.pk)
        if branch != state:
            services.chat_state_set(chat_pk, branch)
    return TurnPlace(parent=parent, line=line, history=history, state=branch)


def _start_state(path: list[Message], parent: Message, leaf_id: int | None, state: dict) -> dict:
    """The state a turn after `parent` starts from: the chat's own while `parent` is its leaf
    or follows it, else the state the branch `path` holds."""
    if parent.pk != leaf_id and parent.parent_id != leaf_id:
        return selectors.branch_state(path)
    return state


def _history(path: list[Message]) -> list[dict]:
    return [{"role": message.role, "content": message.content} for message in path]


def message_activate(chat: Chat, *, message_id: str) -> None:
    """Make the version `message_id` active: the chat's leaf becomes the newest message
    under it (at each level the newest child), and the chat's state becomes the state that
    branch holds (no extraction runs)."""
    with transaction.atomic():
        leaf_id, state = services.chat_lock(chat.pk)
        messages = selectors.chat_tree(chat.pk)
        target = next((m for m in messages if m.client_id == message_id), None)
        if target is None:
            raise MessageNotFound(MESSAGE_NOT_FOUND)
        leaf = selectors.newest_leaf_under(messages, target)
        if leaf.pk == leaf_id:
            return
        services.leaf_set(chat.pk, leaf.pk)
        branch = selectors.branch_state(selectors.branch_to(messages, leaf.pk))
        if branch != state:
            services.chat_state_set(chat.pk, branch)
