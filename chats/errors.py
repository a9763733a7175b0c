"""Errors of the chat domain."""

from core.errors import (
    AccessDenied,
    ConflictError,
    NotFoundError,
    PayloadTooLarge,
    ValidationFailed,
)


class ChatNotFound(NotFoundError):
    pass


class ChatNotYours(AccessDenied):
    """The chat belongs to another identity (family A answers 401, as its seed says)."""


class InvalidChatInput(ValidationFailed):
    pass


class InvalidChatState(ValidationFailed):
    pass


class ChatContentTooLarge(PayloadTooLarge):
    pass


class ReplyInFlight(ConflictError):
    """The chat's previous reply is still being generated (resume or stop it)."""


class MessageNotFound(NotFoundError):
    """No message of this chat has that id (A and C routes that name a message)."""
