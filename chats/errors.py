"""Errors of the chat domain."""

from core.errors import AccessDenied, NotFoundError, PayloadTooLarge, ValidationFailed


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
