"""Shapes of the chats' AI routes: the streamed reply (A) and the character turn (C)."""

from __future__ import annotations

from rest_framework import serializers

from chats.models import CLIENT_ID_MAX_CHARS, MessageRole
from chats.serializers import ChatMessageOutput, StateField
from config.api.fields import StrictCharField

STREAM_MESSAGES_MAX = 500
PARTS_MAX = 100
PART_TYPE_MAX = 64
MODEL_MAX = 200
# The same order as every other role field, so the schema has one "RoleEnum".
ROLES = ["system", "user", "assistant"]


class StreamPartInput(serializers.Serializer):
    """One part of an AI SDK UIMessage; only `text` parts carry text for the model."""

    type = StrictCharField(max_length=PART_TYPE_MAX)
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
    model = StrictCharField(required=False, max_length=MODEL_MAX)
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


def stream_input_quick(data: object) -> dict | None:
    """`ChatStreamInput`'s validated data for a well-formed body, read in one pass without
    DRF's per-field machinery; None when anything is off or unusual, and DRF then judges
    the body and words the error.

    DRF spends about 28 us per message or part, on the event loop that relays every live
    stream's tokens: 0.3 s for a 500-message body of 20 parts each (1.5 MB, under the body
    limit). This reads the same fields by the same rules (StrictCharField: a string,
    without NUL or lone surrogates, within its length; a trimmed field already trimmed; a
    choice among its choices; lists within their lengths), in time linear in the body.
    It accepts only what DRF accepts, with the same result (a property test holds it to
    that), and declines the rest: DRF's answer for those is the answer.
    """
    if not isinstance(data, dict):
        return None
    messages = data.get("messages")
    if not isinstance(messages, list) or len(messages) > STREAM_MESSAGES_MAX:
        return None
    checked = []
    for item in messages:
        message = _message_quick(item)
        if message is None:
            return None
        checked.append(message)
    out: dict = {"messages": checked}
    if "model" in data:
        if not _text_ok(data["model"], trim=True, max_length=MODEL_MAX):
            return None
        out["model"] = data["model"]
    for name in ("conversationId", "id"):
        if name in data:
            if not _text_ok(data[name], trim=True):
                return None
            out[name] = data[name]
    if "trigger" in data:
        if not isinstance(data["trigger"], str) or data["trigger"] not in (SUBMIT, REGENERATE):
            return None
        out["trigger"] = data["trigger"]
    if "messageId" in data:
        value = data["messageId"]
        if value is not None and not _text_ok(value, trim=True, max_length=CLIENT_ID_MAX_CHARS):
            return None
        out["messageId"] = value
    if out.get("trigger") != REGENERATE:
        last = next((m for m in reversed(checked) if m["role"] == MessageRole.USER), None)
        if last is None or not last["text"].strip():
            return None
    return out


def _message_quick(item: object) -> dict | None:
    if not isinstance(item, dict):
        return None
    out: dict = {}
    if "id" in item:
        if not _text_ok(item["id"], trim=True, max_length=CLIENT_ID_MAX_CHARS):
            return None
        out["id"] = item["id"]
    role = item.get("role")
    if not isinstance(role, str) or role not in ROLES:
        return None
    out["role"] = role
    if "content" in item:
        if not _text_ok(item["content"], trim=False):
            return None
        out["content"] = out["text"] = item["content"]
    if "parts" in item:
        parts = item["parts"]
        if not isinstance(parts, list) or len(parts) > PARTS_MAX:
            return None
        checked = []
        for part in parts:
            if not isinstance(part, dict) or not _text_ok(
                part.get("type"), trim=True, max_length=64
            ):
                return None
            if "text" in part:
                if not _text_ok(part["text"], trim=False):
                    return None
                checked.append({"type": part["type"], "text": part["text"]})
            else:
                checked.append({"type": part["type"]})
        out["parts"] = checked
        if "content" not in out:
            out["text"] = "".join(p.get("text", "") for p in checked if p["type"] == "text")
    if "text" not in out:
        return None
    return out


def _text_ok(value: object, *, trim: bool, max_length: int | None = None) -> bool:
    """What a StrictCharField keeps as it is: a string (non-blank and already trimmed when
    the field trims; a trimming field's blank is refused, a non-trimming one's kept), within
    `max_length`, with no NUL and no lone surrogate."""
    if not isinstance(value, str):
        return False
    if trim and (not value or value != value.strip()):
        return False
    if max_length is not None and len(value) > max_length:
        return False
    if "\x00" in value:
        return False
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate
            return False
    return True


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
