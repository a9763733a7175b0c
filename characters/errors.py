"""Errors of the character domain."""

from core.errors import NotFoundError, ValidationFailed


class CharacterNotFound(NotFoundError):
    pass


class InvalidCharacter(ValidationFailed):
    pass
