"""Failures of the model provider, as domain errors each family renders in its envelope."""

from core.errors import DomainError, ErrorCode, ServiceUnavailable


class AIServiceError(DomainError):
    """The model answered wrongly (bad output, refused request): 502 AI_SERVICE_ERROR."""

    code = ErrorCode.AI_SERVICE_ERROR


class AIUnavailable(ServiceUnavailable):
    """The model could not be reached in time (timeout, connection, 429, 5xx): retry later."""

    code = ErrorCode.SERVICE_UNAVAILABLE


class AIBadOutput(AIServiceError):
    """A structured answer failed its JSON schema, even after one retry."""


class AIMalformedAnswer(AIServiceError):
    """One structured answer was not JSON; the caller may ask once more."""
