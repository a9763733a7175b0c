"""Writers of chats and their messages (families A and C).

Messages are upserted by their client id inside a transaction that first locks the chat
row (`chat_locked`): that lock serialises writers of one chat (PostgreSQL; SQLite serialises every
writer), so two saves of one id update one row instead of failing on the unique constraint.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from importlib import import_module
from itertools import pairwise
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from characters.models import Character
from chats.errors import (
    ChatContentTooLarge,
    ChatNotFound,
    ChatNotYours,
    InvalidChatInput,
    InvalidChatState,
)
from chats.models import TITLE_MAX_CHARS, Chat, Message, MessageRole
from chats.selectors import CHAT_NOT_FOUND, chat_messages_prefetch, parse_chat_id
from core.limits import content_size_check
from games.access import visible

if TYPE_CHECKING:
    from chats.identity import Identity


def new_client_id() -> str:
    """A server-made message id, e.g. "msg-3f9a0c1d2b4e5a6b7c8d"."""
    return f"msg-{secrets.token_hex(10)}"


def title_from(text: str) -> str:
    """A one-line title: whitespace collapsed, at most TITLE_MAX_CHARS characters."""
    return " ".join(text.split())[:TITLE_MAX_CHARS].rstrip()


def message_content_check(content: str) -> None:
    content_size_check(content, error=ChatContentTooLarge)


def chat_touch(chat_pk: uuid.UUID) -> None:
    """Bump the chat's updated_at (a write that sets no leaf)."""
    Chat.objects.filter(pk=chat_pk).update(updated_at=timezone.now())


def chat_locked(chat_pk: uuid.UUID, *, owner: Identity | None = None) -> Chat:
    """The chat's row with its character, locked until the transaction ends (one
    `SELECT … FOR UPDATE`); ChatNotFound when there is none, ChatNotYours when `owner` is
    given and does not own it.

    A chat whose messages were stored before the tree existed, with no leaf, is linked
    here first, each message following the one before it, as migration 0003 linked them.
    """
    try:
        chat = (
            Chat.objects.select_for_update(of=("self",)).select_related("character").get(pk=chat_pk)
        )
    except Chat.DoesNotExist:
        raise ChatNotFound(CHAT_NOT_FOUND) from None
    if owner is not None and not owner.owns(chat):
        raise ChatNotYours("Unauthorized")
    if chat.leaf_id is None:
        rows = list(
            Message.objects.filter(chat_id=chat_pk)
            .order_by("created_at", "pk")
            .values_list("pk", "parent_id")
        )
        if rows and not any(parent for _, parent in rows):
            for (previous, _), (pk, _) in pairwise(rows):
                Message.objects.filter(pk=pk).update(parent_id=previous)
        chat.leaf_id = rows[-1][0] if rows else None
    chat.state = chat.state or {}
    return chat


def chat_lock(chat_pk: uuid.UUID) -> tuple[int | None, dict]:
    """Lock the chat's row (in a transaction) and read its leaf and state
    (`chat_locked`)."""
    chat = chat_locked(chat_pk)
    return chat.leaf_id, chat.state


def leaf_set(chat_pk: uuid.UUID, message_pk: int) -> None:
    """Make `message_pk` the last message of the chat's active branch (and bump the chat's
    updated_at)."""
    Chat.objects.filter(pk=chat_pk).update(leaf_id=message_pk, updated_at=timezone.now())


def chat_state_set(chat_pk: uuid.UUID, state: dict) -> None:
    """Set the chat's state as a branch holds it (switching branches; no extraction)."""
    now = timezone.now()
    Chat.objects.filter(pk=chat_pk).update(state=state, state_updated_at=now, updated_at=now)


def chat_create(*, identity: Identity, prompt: str | None, character_id: int | None) -> Chat:
    """Create a chat for `identity`, with its first messages (returned prefetched).

    With a character, the chat starts with the character's cached opening line as an
    assistant message (no model call; none when the character has no opening line), and its
    card's alternate greetings as other versions of it. A prompt is stored after it as the
    user message. Title: the prompt, else the character's
    name.
    """
    if prompt is not None:
        message_content_check(prompt)
    character = None
    if character_id is not None:
        # A character private to another user (GAME_REQUIRE_AUTH) is as unknown as a missing
        # one: its persona and opening line are that user's.
        character = (
            Character.objects.filter(visible(identity.user), pk=character_id)
            .only("name", "opening_line", "card")
            .first()
        )
        if character is None:
            raise InvalidChatInput(f"characterId: character {character_id} not found")
    title = title_from(prompt or "") or (title_from(character.name) if character else "")
    with transaction.atomic():
        chat = Chat.objects.create(
            title=title,
            owner=identity.user,
            anon_id="" if identity.user is not None else identity.anon_id,
            character=character,
        )
        leaf = None
        for index, greeting in enumerate(greetings_of(character)):
            version = Message.objects.create(
                chat=chat, client_id=new_client_id(), role=MessageRole.ASSISTANT, content=greeting
            )
            if index == 0:  # the opening line is the active version
                leaf = version
        if prompt is not None:
            leaf = Message.objects.create(
                chat=chat,
                client_id=new_client_id(),
                role=MessageRole.USER,
                content=prompt,
                parent=leaf,
            )
        if leaf is not None:
            chat.leaf = leaf
            leaf_set(chat.pk, leaf.pk)
    return chat_messages_prefetch(chat)


def greetings_of(character: Character | None) -> list[str]:
    """A character chat's opening messages: the opening line (the card's `first_mes`) and
    then the card's `alternate_greetings`, versions of one another; blank ones are left out,
    and alternates only come with an opening line."""
    if character is None or not character.opening_line.strip():
        return []
    alternates = (character.card or {}).get("alternate_greetings") or []
    if not isinstance(alternates, list):
        alternates = []
    return [character.opening_line] + [
        text for text in alternates if isinstance(text, str) and text.strip()
    ]


def chat_title_set(*, chat: Chat, title: str) -> Chat:
    """Rename the chat (whitespace collapsed, capped like a created title)."""
    chat.title = title_from(title)
    if not chat.title:
        raise InvalidChatInput("Missing title")
    chat.save(update_fields=["title", "updated_at"])
    return chat


def chat_delete(*, chat: Chat) -> Chat:
    """Delete the chat and, by cascade, its messages; the instance keeps its fields."""
    Chat.objects.filter(pk=chat.pk).delete()
    return chat


def message_save(
    chat: Chat,
    client_id: str | None,
    role: str,
    content: str,
    *,
    stopped: bool | None = None,
    state_snapshot: dict | None = None,
) -> Message:
    """Save a message sent by a client, upserting by `client_id` (a new `msg-…` when None).

    Saving an id again updates its role and content in place; `stopped` and `state_snapshot`
    change only when given. A new message follows the chat's leaf and becomes the leaf.
    Content over the size limit is refused; a model's reply is stored with `reply_store`,
    which has no such limit.
    """
    if role not in MessageRole.values:
        raise InvalidChatInput(f"role: Must be one of {', '.join(MessageRole.values)}")
    message_content_check(content)
    defaults: dict = {"role": role, "content": content}
    if stopped is not None:
        defaults["stopped"] = stopped
    if state_snapshot is not None:
        defaults["state_snapshot"] = state_snapshot
    with transaction.atomic():
        leaf_id, _ = chat_lock(chat.pk)
        message, created = Message.objects.update_or_create(
            chat_id=chat.pk,
            client_id=client_id or new_client_id(),
            defaults=defaults,
            create_defaults={
                "stopped": False,
                "state_snapshot": None,
                **defaults,
                "parent_id": leaf_id,
            },
        )
        if created:  # a new message follows the active branch's last one
            leaf_set(chat.pk, message.pk)
        else:
            chat_touch(chat.pk)
    return message


def reply_store(
    chat_id: uuid.UUID | str,
    client_id: str,
    content: str,
    stopped: bool = False,
    state_snapshot: dict | None = None,
    *,
    parent_pk: int | None = None,
    prompt: dict | None = None,
) -> Message:
    """Store a model's reply as the chat's assistant message `client_id` (upsert).

    The turn calls it with the id it announced, so a later `POST …/messages` with that id
    updates this row. A new reply follows `parent_pk` (the line it answers; the chat's leaf
    when None) and becomes the chat's leaf, unless the owner switched to another branch
    while it was generated. ChatNotFound when the chat was deleted meanwhile. `prompt`, the
    record of what was sent to the model (`prompts.prompt_record`), goes in the same write.
    """
    fields = {
        "role": MessageRole.ASSISTANT,
        "content": content,
        "stopped": stopped,
        "state_snapshot": state_snapshot,
    }
    if prompt is not None:
        fields["prompt"] = prompt
    chat_pk = parse_chat_id(chat_id)
    with transaction.atomic():
        leaf_id, _ = chat_lock(chat_pk)
        parent = leaf_id if parent_pk is None else parent_pk
        message, created = Message.objects.update_or_create(
            chat_id=chat_pk,
            client_id=client_id,
            defaults=fields,
            create_defaults={**fields, "parent_id": parent},
        )
        if created and leaf_id == parent:
            leaf_set(chat_pk, message.pk)
        else:
            chat_touch(chat_pk)
    return message


def chat_state_check(update: object) -> dict:
    """A state update: a non-empty object of allowed keys (CHAT_STATE_KEYS) to strings."""
    if not isinstance(update, dict) or not update:
        raise InvalidChatState("state_update: Must be a non-empty object")
    allowed = tuple(settings.CHAT_STATE_KEYS)
    unknown = sorted(str(key) for key in set(update) - set(allowed))
    if unknown:
        raise InvalidChatState(
            f"state_update: Unknown key(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}"
        )
    limit = settings.CHAT_STATE_VALUE_MAX_CHARS
    for key, value in update.items():
        if not isinstance(value, str):
            raise InvalidChatState(f"state_update.{key}: Must be a string")
        if len(value) > limit:
            raise InvalidChatState(
                f"state_update.{key}: Ensure this value has at most {limit} characters"
            )
    return update


def _state_ordered(merged: dict) -> dict:
    """Keys in the order of CHAT_STATE_KEYS, then any others."""
    ordered = {key: merged[key] for key in settings.CHAT_STATE_KEYS if key in merged}
    ordered.update((key, value) for key, value in merged.items() if key not in ordered)
    return ordered


def chat_state_merge(chat: Chat, update: dict) -> Chat:
    """Merge `update` into the chat's state (all or nothing) and stamp state_updated_at.

    The state belongs to the active branch: its last message keeps it too, so switching
    away and back finds it. Keys keep the order of CHAT_STATE_KEYS. Returns `chat` with its
    state refreshed.
    """
    chat_state_check(update)
    with transaction.atomic():
        try:
            locked = Chat.objects.select_for_update().only("state", "leaf_id").get(pk=chat.pk)
        except Chat.DoesNotExist:
            raise ChatNotFound(CHAT_NOT_FOUND) from None
        ordered = _state_ordered({**(locked.state or {}), **update})
        now = timezone.now()
        Chat.objects.filter(pk=chat.pk).update(state=ordered, state_updated_at=now, updated_at=now)
        if locked.leaf_id is not None:
            Message.objects.filter(pk=locked.leaf_id).update(state_snapshot=ordered)
    chat.state, chat.state_updated_at, chat.updated_at = ordered, now, now
    return chat


def reply_state_merge(chat_id: uuid.UUID | str, reply_pk: int, update: dict) -> dict:
    """Merge a turn's extracted `update` into the state its reply led to, and return it.

    The reply keeps that state (its `state_snapshot`); the chat's state becomes it while the
    reply is the active leaf (an owner who switched branches meanwhile keeps the other
    branch's state). An empty update changes nothing.
    """
    if update:
        chat_state_check(update)
    chat_pk = parse_chat_id(chat_id)
    with transaction.atomic():
        try:
            locked = Chat.objects.select_for_update().only("state", "leaf_id").get(pk=chat_pk)
        except Chat.DoesNotExist:
            raise ChatNotFound(CHAT_NOT_FOUND) from None
        active = locked.leaf_id == reply_pk
        if active:
            base = locked.state
        else:
            base = Message.objects.filter(pk=reply_pk).values_list("state_snapshot", flat=True)
            base = base.first()
        ordered = _state_ordered({**(base or {}), **update})
        if update:
            Message.objects.filter(pk=reply_pk).update(state_snapshot=ordered)
            if active:
                chat_state_set(chat_pk, ordered)
    return ordered


ANONYMOUS_CLEAR_BATCH = 500


def anonymous_identities_clear(*, now: datetime | None = None) -> int:
    """Delete expired sessions, and the chats no anonymous identity can reach any more.

    An anonymous identity is a database session that expires ASSISTANT_SESSION_AGE after it
    was made, and each of its chats was made after it; so an anonymous chat older than that
    age belongs to an identity that has expired, and no cookie can name it again. Returns the
    number of chats deleted (their messages go with them).
    """
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.ASSISTANT_SESSION_AGE)
    deleted = 0
    while True:  # in batches, so no transaction holds its locks long on a large backlog
        batch = list(
            Chat.objects.filter(owner__isnull=True, created_at__lt=cutoff)
            .exclude(anon_id="")
            .values_list("pk", flat=True)[:ANONYMOUS_CLEAR_BATCH]
        )
        if not batch:
            return deleted
        with transaction.atomic():
            _, per_model = Chat.objects.filter(pk__in=batch).delete()
        deleted += per_model.get(Chat._meta.label, 0)
