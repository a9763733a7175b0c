"""Shapes of the chats' AI routes: the streamed reply (A) and the character turn (C)."""

from __future__ import annotations

from rest_framework import serializers

from chats.models import CLIENT_ID_MAX_CHARS, MessageRole
from chats.serializers import ChatMessageOutput, StateField
from config.api.fields import StrictCharField

STREAM_MESSAGES_MAX = 500
PARTS_MAX = 100
# The same order as every other role field, so the schema has one "RoleEnum".
ROLES = ["system", "user", "assistant"]


class StreamPartInput(serializers.Serializer):
    """One part of an AI SDK UIMessage; only `text` parts carry text for the model."""

    type = StrictCharField(max_length=64)
    text = StrictCharField(required=False, trim_whitespace=False, allow_blank=True)


class StreamMessageInput(serializers.Serializer):
    """`{id?, role, content}` (the seed's shape) or `{id, role, parts}` (the AI SDK's)."""

    id = StrictCharField(required=False, max_length=CLIENT_ID_MAX_CHARS)
    role = serializers.ChoiceField(choices=ROLES)
    content = StrictCharField(required=False, trim_whitespace=False, allow_blank=True)
    parts = StreamPartInput(many=True, required=False, max_length=PARTS_MAX)

    def validate(self, attrs):
        if "content" in attrs:
            attrs["text"] = attrs["content"]
        elif "parts" in attrs:
            attrs["text"] = "".join(
                p.get("text", "") for p in attrs["parts"] if p["type"] == "text"
            )
        else:
            raise serializers.ValidationError("each message needs content or parts")
        return attrs


SUBMIT = "submit-message"
REGENERATE = "regenerate-message"


class ChatStreamInput(serializers.Serializer):
    """The seed's `{messages}`, or the AI SDK's `{id, messages, trigger, messageId}`. A
    regenerate answers from the stored branch, so its `messages` may be empty."""

    messages = StreamMessageInput(many=True, max_length=STREAM_MESSAGES_MAX)
    model = StrictCharField(required=False, max_length=200)
    conversationId = serializers.CharField(required=False, help_text="Ignored (the URL names it)")
    id = serializers.CharField(required=False, help_text="Ignored (the URL names the chat)")
    trigger = serializers.ChoiceField(
        choices=[SUBMIT, REGENERATE],
        required=False,
        help_text=(
            "submit-message (the default): answer the last user message (a stored id with "
            "new text is an edit); regenerate-message: a new version of the reply `messageId`"
        ),
    )
    messageId = StrictCharField(
        required=False,
        allow_null=True,
        max_length=CLIENT_ID_MAX_CHARS,
        help_text="regenerate-message: the assistant reply to replace (none: the last one)",
    )

    def validate(self, attrs):
        if attrs.get("trigger") == REGENERATE:
            return attrs
        messages = attrs["messages"]
        if not any(item["role"] == MessageRole.USER for item in messages):
            raise serializers.ValidationError({"messages": "must contain a user message"})
        last = next(item for item in reversed(messages) if item["role"] == MessageRole.USER)
        if not last["text"].strip():
            raise serializers.ValidationError({"messages": "the last user message is empty"})
        return attrs


class CharacterTurnOutput(serializers.Serializer):
    """Family C: the stored user message, the character's reply, the state after the turn.
    Built from `{"message": Message, "reply": Message, "state": dict}`."""

    message = ChatMessageOutput()
    ai_response = serializers.CharField(source="reply.content")
    state_snapshot = StateField(source="state")


class StateErrorOutput(serializers.Serializer):
    message = serializers.CharField()


class CharacterTurnPartialOutput(serializers.Serializer):
    """207: the reply is kept, the state extraction failed and the state is unchanged."""

    message = ChatMessageOutput()
    ai_response = serializers.CharField(source="reply.content")
    state_error = StateErrorOutput()


class StreamStopOutput(serializers.Serializer):
    stopped = serializers.BooleanField(help_text="Whether a reply in flight was stopped")
