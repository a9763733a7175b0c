"""Shapes of the game's AI routes (seed 001 sections 7 and 8)."""

from __future__ import annotations

import base64

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ai.types import IMAGE_MIMES, IMAGE_SIZES
from config.api.fields import StrictCharField

HISTORY_MAX_ITEMS = 200


class ScenarioInput(serializers.Serializer):
    sessionId = StrictCharField(max_length=64)
    templateTitle = StrictCharField(max_length=200)


class ScenarioOutput(serializers.Serializer):
    """Built from `{"gameTitle": GameTitle, "initialMessage": Message}`."""

    gameTitle = serializers.CharField(source="gameTitle.title")
    initialMessage = serializers.CharField(source="initialMessage.content")


class HistoryLineInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=["system", "user", "assistant"])
    content = StrictCharField(trim_whitespace=False, allow_blank=True)


class DialogueInput(serializers.Serializer):
    sessionId = StrictCharField(max_length=64)
    history = HistoryLineInput(many=True, max_length=HISTORY_MAX_ITEMS)


class DialogueOutput(serializers.Serializer):
    """Built from the stored reply (a game Message)."""

    aiResponse = serializers.CharField(source="content")
    # Not read-only: the schema would then list it as always present. Never sent: no stored
    # reply has it, so the field is skipped.
    audioUrl = serializers.CharField(required=False, help_text="Not produced by this server")


class ImageInput(serializers.Serializer):
    sessionId = StrictCharField(max_length=64)
    prompt = StrictCharField(trim_whitespace=False)
    size = serializers.ChoiceField(choices=IMAGE_SIZES, required=False, default="512x512")
    mime = serializers.ChoiceField(choices=IMAGE_MIMES, required=False, default="image/png")


class Base64Field(serializers.Field):
    """Bytes given as a base64 string."""

    def to_representation(self, value) -> str:
        return base64.b64encode(bytes(value)).decode("ascii")


@extend_schema_field({"type": "string", "format": "byte"})
class ImageDataField(Base64Field):
    pass


class ImageOutput(serializers.Serializer):
    """Built from a GameImage."""

    id = serializers.IntegerField()
    mime = serializers.CharField()
    data = ImageDataField(help_text="base64")
    prompt = serializers.CharField()
