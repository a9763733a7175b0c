"""OpenAPI descriptions of each family's error body, for drf-spectacular."""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

GameError = inline_serializer(
    name="GameError", fields={"error": serializers.CharField(help_text="What went wrong")}
)

AssistantError = inline_serializer(
    name="AssistantError",
    fields={"statusCode": serializers.IntegerField(), "statusMessage": serializers.CharField()},
)

_MovieErrorDetail = inline_serializer(
    name="MovieErrorDetail",
    fields={"field": serializers.CharField(), "message": serializers.CharField()},
    many=True,
)

MovieError = inline_serializer(
    name="MovieError",
    fields={
        "success": serializers.BooleanField(default=False),
        "error": inline_serializer(
            name="MovieErrorBody",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "details": _MovieErrorDetail,
            },
        ),
        "requestId": serializers.CharField(),
        "timestamp": serializers.DateTimeField(),
    },
)


def _errors(body, statuses: dict[int, str]) -> dict[int, OpenApiResponse]:
    return {status: OpenApiResponse(body, description=text) for status, text in statuses.items()}


_COMMON = {
    400: "Invalid input or malformed JSON",
    401: "Missing or invalid token",
    403: "Not yours",
    404: "Unknown id",
    413: "Body or content too large",
    415: "Body is not JSON",
    429: "Rate limited",
}

GAME_ERRORS = _errors(GameError, _COMMON)
GAME_ERRORS_WITH_CONFLICT = _errors(GameError, {**_COMMON, 409: "Session has ended"})
ASSISTANT_ERRORS = _errors(AssistantError, _COMMON)
MOVIE_ERRORS = _errors(MovieError, _COMMON)


class BearerJWTScheme(SimpleJWTScheme):
    """Describe our Bearer JWT authentication class as simplejwt's scheme."""

    target_class = "config.api.authentication.BearerJWTAuthentication"
    name = "bearerAuth"


ASSISTANT_SIMPLE_ERRORS = _errors(AssistantError, {405: "Method not allowed", 500: "Server error"})
