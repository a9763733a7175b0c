"""Shape of a reply's prompt (`GET /api/chats/{id}/messages/{messageId}/prompt`), after
SillyTavern's prompt itemisation: what was sent, the lore that fired, tokens per part."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

ROLES = ["system", "user", "assistant"]


class PromptMessageOutput(serializers.Serializer):
    role = serializers.ChoiceField(choices=ROLES)
    content = serializers.CharField()


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "number"}, {"type": "string"}]})
class EntryIdField(serializers.Field):
    """A lorebook entry's `id` (a number or a string, V3), else its index in the book."""

    def to_representation(self, value):
        return value


class LorebookHitOutput(serializers.Serializer):
    entry = EntryIdField(help_text="The entry's `id`, else its index in `entries`")
    index = serializers.IntegerField(help_text="Its index in the book's `entries`")
    name = serializers.CharField(allow_null=True)
    comment = serializers.CharField(allow_null=True)
    key = serializers.CharField(
        allow_null=True, help_text="The key that fired it (null: constant or @@activate)"
    )
    secondaryKey = serializers.CharField(
        allow_null=True, help_text="The secondary key a selective entry also needed"
    )
    source = serializers.ChoiceField(
        choices=["chat", "recursion", "constant", "decorator"],
        help_text="Where it matched: the chat, or another fired entry's content",
    )
    position = serializers.ChoiceField(choices=["before_char", "after_char"])
    insertionOrder = serializers.FloatField()
    tokens = serializers.IntegerField(help_text="Estimated tokens of its content")


class PromptTokensOutput(serializers.Serializer):
    """Estimated tokens (about four characters a token): `system` includes `lorebook`."""

    system = serializers.IntegerField()
    lorebook = serializers.IntegerField()
    history = serializers.IntegerField()
    postHistory = serializers.IntegerField()
    total = serializers.IntegerField()


class PromptHistoryOutput(serializers.Serializer):
    sent = serializers.IntegerField(help_text="History messages sent")
    dropped = serializers.IntegerField(help_text="Older messages the token budget left out")


class MessagePromptOutput(serializers.Serializer):
    messageId = serializers.CharField()
    model = serializers.CharField(help_text="The model named in the call")
    provider = serializers.CharField(help_text='"offline" or "openai-compatible"')
    messages = PromptMessageOutput(
        many=True, help_text="Exactly what was sent, the system prompt first"
    )
    lorebook = LorebookHitOutput(many=True, help_text="The entries that fired, in prompt order")
    tokens = PromptTokensOutput()
    history = PromptHistoryOutput()
