"""Errors of the character domain."""

from config.api.errors import NotFoundError, ValidationFailed


class CharacterNotFound(NotFoundError):
    pass


class InvalidCharacter(ValidationFailed):
    pass
