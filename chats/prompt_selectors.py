"""Reader of a reply's prompt record (`Message.prompt`): the chat's owner only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chats.errors import ChatNotFound, MessageNotFound
from chats.models import Chat, ChatKind, Message
from chats.selectors import CHAT_NOT_FOUND, parse_chat_id

if TYPE_CHECKING:
    from chats.identity import Identity

MESSAGE_NOT_FOUND = "Message not found"
NO_PROMPT = (
    "No prompt is recorded for this message: only replies the model generated have one "
    "(not a user line, a saved message, or a reply stored before prompts were recorded)"
)


def message_prompt_get(identity: Identity, chat_id: object, message_id: str) -> dict:
    """The prompt record of message `message_id` (its API id) of the identity's chat.

    One query when the record is there. Another identity's chat is as unknown as a missing
    one (ChatNotFound: a prompt shows the character's card and lorebook, which are the
    owner's); a missing message is MessageNotFound, and so is a message without a record.
    """
    chat_pk = parse_chat_id(chat_id)
    owned = {f"chat__{field}": value for field, value in identity.chat_filter().items()}
    row = (
        Message.objects.filter(
            chat_id=chat_pk, client_id=message_id, chat__kind=ChatKind.CONVERSATION, **owned
        )
        .values("prompt")
        .first()
    )
    if row is None:
        if not Chat.objects.filter(pk=chat_pk, **identity.chat_filter()).exists():
            raise ChatNotFound(CHAT_NOT_FOUND)
        raise MessageNotFound(MESSAGE_NOT_FOUND)
    if not isinstance(row["prompt"], dict):
        raise MessageNotFound(NO_PROMPT)
    return row["prompt"]
