"""Errors of the character domain."""

from ai.errors import AIServiceError, AIUnavailable
from core.errors import ConflictError, NotFoundError, PayloadTooLarge, ValidationFailed


class CharacterNotFound(NotFoundError):
    pass


class InvalidCharacter(ValidationFailed):
    pass


class DescriptionTooLarge(PayloadTooLarge):
    pass


class CharacterChangedConcurrently(ConflictError):
    """Someone else changed the character while its opening line was being generated."""


class OpeningLineUnavailable(AIUnavailable):
    """The model could not be reached for the opening line; nothing was saved, retry later."""


class OpeningLineFailed(AIServiceError):
    """The model answered, but with nothing usable as an opening line; nothing was saved."""
