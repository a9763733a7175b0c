"""OpenAPI descriptions of each family's error body and auth, for drf-spectacular."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

from config.api.authentication import BearerJWTAuthentication

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


class AssistantCookieScheme(OpenApiAuthenticationExtension):
    """Family A's cookie identity adds no scheme of its own: a caller without a token is
    the optional `{}` requirement `FamilyAutoSchema.get_auth` adds to A's routes."""

    target_class = "config.api.assistant_auth.AssistantCookieAuthentication"
    name = ()

    def get_security_requirement(self, auto_schema):
        return None

    def get_security_definition(self, auto_schema):
        return []


ASSISTANT_SIMPLE_ERRORS = _errors(AssistantError, {405: "Method not allowed", 500: "Server error"})

ERROR_BODIES = {"G": GameError, "A": AssistantError, "M": MovieError}
UNAUTHORIZED = (
    "Invalid token: expired, badly signed, or a malformed Authorization header (anything "
    "but `Bearer <token>`)"
)


class FamilyAutoSchema(AutoSchema):
    """drf-spectacular's schema, saying what each family's authentication really does.

    - G and A take a token when one is sent and work without it (A's caller is then its
      cookie identity): their security is `[{bearerAuth: []}, {}]`. G requires the token only
      when GAME_REQUIRE_AUTH is on; M always does.
    - Every route that reads a Bearer token answers a bad one with 401 in its family's body,
      a malformed `Authorization` header included, so the 401 is documented on each of them
      (added to the finished operation, through the public `resolve_serializer` and
      `map_renderers`, when the view's own responses do not say it).
    """

    def family(self) -> str | None:
        return getattr(self.view, "family", None)

    def reads_bearer(self) -> bool:
        return any(
            isinstance(auth, BearerJWTAuthentication) for auth in self.view.get_authenticators()
        )

    def get_auth(self):
        auths = super().get_auth()
        family = self.family()
        optional = family == "A" or (family == "G" and not settings.GAME_REQUIRE_AUTH)
        if optional and auths and {} not in auths:
            auths.append({})
        return auths

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        body = ERROR_BODIES.get(self.family())
        if operation is None or body is None or not self.reads_bearer():
            return operation
        responses = operation.setdefault("responses", {})
        if "401" not in responses:
            schema = self.resolve_serializer(body, "response").ref
            responses["401"] = {
                "content": {
                    media: {"schema": schema} for media in self.map_renderers("media_type")
                },
                "description": UNAUTHORIZED,
            }
        return operation
