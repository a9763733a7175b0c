"""Input and output shapes of family A's chat routes (seed 004) and C's chat state (seed 002).

Family A's messages are fixed by its seed ("Missing prompt", "Invalid message data"), so the
inputs here accept any JSON value and judge it in `validate`, where the message is worded.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from chats.errors import InvalidChatInput
from chats.models import CLIENT_ID_MAX_CHARS, MessageRole
from config.api.fields import FlexibleIdField
from core.times import iso_utc, unix_seconds


@extend_schema_field(OpenApiTypes.STR)
class AnyString(serializers.Field):
    """Any JSON value in, null included; the serializer's `validate` decides (and words the
    error)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


@extend_schema_field(OpenApiTypes.OBJECT)
class AnyObject(AnyString):
    pass


@extend_schema_field(OpenApiTypes.INT)
class UnixSecondsField(serializers.Field):
    def to_representation(self, value):
        return unix_seconds(value)


@extend_schema_field({"type": "string", "format": "date-time", "nullable": True})
class IsoDateTimeField(serializers.Field):
    def to_representation(self, value):
        return iso_utc(value)


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def chat_input(serializer_class, request, *, prefix: str = "") -> dict:
    """Validate a JSON object body; a problem is one 400 message, prefixed when asked."""
    serializer = serializer_class(data=request.data)
    if serializer.is_valid():
        return serializer.validated_data
    parts = []
    for name, problems in serializer.errors.items():
        text = str(problems[0] if isinstance(problems, list) else problems).rstrip(".")
        parts.append(text if name == "non_field_errors" else f"{name}: {text}")
    message = "; ".join(parts)
    raise InvalidChatInput(f"{prefix}: {message}" if prefix else message)


# --- Inputs --------------------------------------------------------------------------------


class ChatCreateInput(serializers.Serializer):
    prompt = AnyString(
        required=False, help_text="The first user message; optional with a character"
    )
    characterId = FlexibleIdField(
        required=False, help_text="Start a character chat with its cached opening line"
    )

    def validate(self, attrs):
        prompt = attrs.get("prompt")
        if _is_text(prompt):
            return attrs
        if "characterId" in attrs and (prompt is None or isinstance(prompt, str)):
            attrs["prompt"] = None
            return attrs
        raise serializers.ValidationError("Missing prompt")


class ChatUpdateInput(serializers.Serializer):
    content = AnyString(required=False, help_text="The new title (the seed's shape)")
    role = AnyString(required=False, help_text="Ignored")
    title = AnyString(required=False, help_text="The new title; wins over content")

    def validate(self, attrs):
        title = attrs["title"] if "title" in attrs else attrs.get("content")
        if not _is_text(title):
            raise serializers.ValidationError("Missing title")
        return {"title": title}


class ChatMessageInput(serializers.Serializer):
    id = serializers.CharField(
        required=False,
        max_length=CLIENT_ID_MAX_CHARS,
        help_text="The client's message id; saving it again updates the message",
    )
    role = serializers.ChoiceField(
        # The game log's choice set, value for value: one "RoleEnum" in the OpenAPI schema.
        choices=["system", "user", "assistant"],
        error_messages={"invalid_choice": f"Must be one of {', '.join(MessageRole.values)}."},
    )
    content = serializers.CharField(trim_whitespace=False)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            if data.get("id") is None:
                data = {key: value for key, value in data.items() if key != "id"}
            for name in ("id", "role", "content"):
                if name in data and not isinstance(data[name], str):
                    raise serializers.ValidationError({name: ["Must be a string."]})
        return super().to_internal_value(data)


def state_schema(*, min_properties: int = 0) -> dict:
    """A chat state in the schema: the allowed keys (CHAT_STATE_KEYS) to strings, no other."""
    limit = settings.CHAT_STATE_VALUE_MAX_CHARS
    schema = {
        "type": "object",
        "properties": {
            key: {"type": "string", "maxLength": limit} for key in settings.CHAT_STATE_KEYS
        },
        "additionalProperties": False,
    }
    if min_properties:
        schema["minProperties"] = min_properties
    return schema


@extend_schema_field(state_schema(min_properties=1))
class StateUpdateField(AnyObject):
    """Judged by the service (chat_state_check), which words the 400."""


@extend_schema_field(state_schema())
class StateField(serializers.DictField):
    pass


class ChatStateInput(serializers.Serializer):
    state_update = StateUpdateField(
        required=False, help_text="Keys of CHAT_STATE_KEYS to string values, merged"
    )


# --- Outputs -------------------------------------------------------------------------------


class ChatOutput(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    userId = serializers.CharField(source="user_ref")
    createdAt = UnixSecondsField(source="created_at")


class MessageVersionsOutput(serializers.Serializer):
    """A message's versions (the versions of one turn), oldest first."""

    index = serializers.IntegerField(help_text="This message's place in `ids`, from 0")
    count = serializers.IntegerField(help_text="How many versions the turn has (2 or more)")
    ids = serializers.ListField(child=serializers.CharField(), help_text="Their ids")


class ChatMessageOutput(serializers.Serializer):
    id = serializers.CharField(source="client_id")
    chatId = serializers.UUIDField(source="chat_id")
    role = serializers.CharField()
    content = serializers.CharField()
    createdAt = UnixSecondsField(source="created_at")
    stopped = serializers.BooleanField(
        required=False, help_text="Present (true) only for a reply stopped before it ended"
    )
    versions = MessageVersionsOutput(
        required=False,
        allow_null=True,
        help_text=(
            "In a chat's messages, present only when the turn has other versions (a "
            "regenerated reply, an edited message, a card's alternate greetings); make one "
            "active with POST /api/chats/{id}/messages/{messageId}/activate"
        ),
    )

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not data.get("stopped"):
            data.pop("stopped", None)
        if data.get("versions") is None:
            data.pop("versions", None)
        return data


class ChatDetailOutput(ChatOutput):
    messages = ChatMessageOutput(
        many=True, source="branch", help_text="The active branch, oldest first"
    )


class ChatStateOutput(serializers.Serializer):
    chat_id = serializers.UUIDField(source="pk")
    state = StateField()
    updated_at = IsoDateTimeField(source="state_updated_at")
