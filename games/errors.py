"""Errors of the game domain."""

from config.api.errors import ConflictError, NotFoundError, PayloadTooLarge, ValidationFailed


class GameNotFound(NotFoundError):
    pass


class GameTitleNotFound(NotFoundError):
    pass


class SessionNotFound(NotFoundError):
    pass


class SessionEnded(ConflictError):
    code = "SESSION_ENDED"


class TitleAlreadyLinked(ConflictError):
    pass


class MessageTooLarge(PayloadTooLarge):
    pass


class InvalidGameInput(ValidationFailed):
    pass


class PromptTooLarge(PayloadTooLarge):
    pass
