"""Errors of the movie projects' workflow chat (family M)."""

from core.errors import ConflictError, NotFoundError, ValidationFailed


class SessionNotFound(NotFoundError):
    pass


class InvalidWorkflowInput(ValidationFailed):
    pass


class ChoiceNotOffered(ValidationFailed):
    """The choice is not among those the session was last offered."""


class ChoiceAlreadyMade(ConflictError):
    """The choice was already taken (an offer is used once); a replay never advances twice."""


class SessionTurnInFlight(ConflictError):
    """The AI is still answering the session's previous line."""
