"""Errors of the game domain."""

from core.errors import ConflictError, ErrorCode, NotFoundError, PayloadTooLarge, ValidationFailed


class GameNotFound(NotFoundError):
    pass


class GameTitleNotFound(NotFoundError):
    pass


class SessionNotFound(NotFoundError):
    pass


class SessionEnded(ConflictError):
    code = ErrorCode.SESSION_ENDED


class TitleAlreadyLinked(ConflictError):
    pass


class MessageTooLarge(PayloadTooLarge):
    pass


class InvalidGameInput(ValidationFailed):
    pass


class PromptTooLarge(PayloadTooLarge):
    pass
