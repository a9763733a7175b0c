"""Shapes of the game's AI routes (seed 001 sections 7 and 8)."""

from __future__ import annotations

from rest_framework import serializers

from ai.types import IMAGE_MIMES, IMAGE_SIZES
from config.api.fields import StrictCharField

HISTORY_MAX_ITEMS = 200


class ScenarioInput(serializers.Serializer):
    sessionId = StrictCharField(max_length=64)
    templateTitle = StrictCharField(max_length=200)


class ScenarioOutput(serializers.Serializer):
    gameTitle = serializers.CharField()
    initialMessage = serializers.CharField()


class HistoryLineInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=["system", "user", "assistant"])
    content = StrictCharField(trim_whitespace=False, allow_blank=True, max_length=32 * 1024)


class DialogueInput(serializers.Serializer):
    sessionId = StrictCharField(max_length=64)
    history = HistoryLineInput(many=True, max_length=HISTORY_MAX_ITEMS)


class DialogueOutput(serializers.Serializer):
    aiResponse = serializers.CharField()
    audioUrl = serializers.CharField(required=False, help_text="Not produced by this server")


class ImageInput(serializers.Serializer):
    sessionId = StrictCharField(max_length=64)
    prompt = StrictCharField(trim_whitespace=False)
    size = serializers.ChoiceField(choices=IMAGE_SIZES, required=False, default="512x512")
    mime = serializers.ChoiceField(choices=IMAGE_MIMES, required=False, default="image/png")


class ImageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    mime = serializers.CharField()
    data = serializers.CharField(help_text="base64")
    prompt = serializers.CharField()
