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


class CardError(InvalidCharacter):
    """A character card (or its lorebook) that does not follow the V1/V2/V3 specifications;
    the message names the field, e.g. `character_book.entries[3].keys: must be a list of
    strings`. Nothing is stored."""


class CardTooLarge(PayloadTooLarge):
    """A card file over CHARACTER_CARD_MAX_BYTES, or an image or text chunk past its bound."""
