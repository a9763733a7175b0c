"""Input and output shapes of the game server's REST routes (seeds 000 and 001)."""

from __future__ import annotations

import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.api.fields import (
    FlexibleIdField,
    StrictCharField,
    StrictIntegerField,
    UserRefField,
    check_closed_object,
    user_ref_out,
)
from core.times import iso_utc
from games.models import MessageRole, MessageType

SCENARIO_KEYS = ("hook", "role", "mission")
JSON_VALUE_MAX_CHARS = 32 * 1024


class OmitNoneMixin:
    """Drop optional keys whose value is None, as the seed marks them with `?`."""

    omit_if_none: tuple[str, ...] = ()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for key in self.omit_if_none:
            if data.get(key) is None:
                data.pop(key, None)
        return data


@extend_schema_field(OpenApiTypes.DATETIME)
class IsoDateTimeField(serializers.Field):
    def to_representation(self, value):
        return iso_utc(value)


# --- Sessions --------------------------------------------------------------------------------


class SessionStartInput(serializers.Serializer):
    gameId = FlexibleIdField()
    userId = UserRefField(required=False)
    characterId = FlexibleIdField()


class SessionEndInput(serializers.Serializer):
    sessionId = StrictCharField(max_length=64)


class SessionStartOutput(serializers.Serializer):
    sessionId = serializers.CharField(source="pk")
    createdAt = IsoDateTimeField(source="started_at")


class OkOutput(serializers.Serializer):
    ok = serializers.BooleanField(default=True)


class SessionOutput(serializers.Serializer):
    sessionId = serializers.CharField(source="pk")
    gameId = serializers.IntegerField(source="game_id")
    userId = serializers.SerializerMethodField()
    characterId = serializers.IntegerField(source="character_id", allow_null=True)
    startedAt = IsoDateTimeField(source="started_at")
    status = serializers.ChoiceField(choices=["active", "ended"])

    def get_userId(self, session) -> int | str:
        return user_ref_out(session.user_ref)


# --- Games and titles ------------------------------------------------------------------------


class GameUpdateInput(serializers.Serializer):
    title = StrictCharField(max_length=200, required=False, allow_blank=True)
    genre = StrictCharField(max_length=100, required=False, allow_blank=True)
    difficulty = StrictCharField(max_length=50, required=False, allow_blank=True)
    metadata = serializers.DictField(required=False)

    def validate_metadata(self, value):
        _check_json_size(value, "metadata")
        return value


class GameOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.SerializerMethodField()
    genre = serializers.CharField()
    difficulty = serializers.CharField()
    metadata = serializers.DictField()

    def get_title(self, game) -> str:
        if not game.title and game.game_title_id:
            return game.game_title.title
        return game.title


class ScenarioField(serializers.DictField):
    """`{hook?, role?, mission?}`, each a string; other keys are refused."""

    def to_internal_value(self, data):
        check_closed_object(data, SCENARIO_KEYS, "hook, role and mission")
        for key, value in data.items():
            if not isinstance(value, str) or len(value) > 4000:
                raise serializers.ValidationError(f"{key} must be a string of at most 4000 chars.")
        return dict(data) or None


class GameTitleInput(serializers.Serializer):
    title = StrictCharField(max_length=200)
    description = StrictCharField(max_length=10000, required=False, allow_blank=True)
    image = StrictCharField(max_length=2048, required=False, allow_blank=True)
    genre = StrictCharField(max_length=100, required=False, allow_blank=True)
    scenario = ScenarioField(required=False, allow_null=True)


class GameTitleOutput(OmitNoneMixin, serializers.Serializer):
    omit_if_none = ("scenario",)

    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    image = serializers.CharField()
    genre = serializers.CharField()
    date = IsoDateTimeField(source="created_at")
    scenario = serializers.DictField(required=False, allow_null=True)


class GameTitleListQuery(serializers.Serializer):
    theme = serializers.CharField(required=False, allow_blank=True, max_length=100)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=50)


# --- Progress --------------------------------------------------------------------------------


class CheckpointInput(serializers.Serializer):
    key = StrictCharField(max_length=200)
    value = serializers.JSONField(required=False, allow_null=True)

    def validate_value(self, value):
        _check_json_size(value, "value")
        return value


class ProgressUpdateInput(serializers.Serializer):
    chapter = StrictIntegerField(required=False, min_value=1, max_value=100000)
    step = StrictIntegerField(required=False, min_value=0, max_value=1000000)
    checkpoints = CheckpointInput(many=True, required=False, max_length=100)
    lastMessageId = FlexibleIdField(required=False, allow_null=True)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(
                "Nothing to update: send chapter, step, checkpoints or lastMessageId."
            )
        return attrs


class CheckpointOutput(serializers.Serializer):
    key = serializers.CharField()
    value = serializers.JSONField()
    at = IsoDateTimeField()


class ProgressOutput(OmitNoneMixin, serializers.Serializer):
    omit_if_none = ("lastMessageId",)

    sessionId = serializers.CharField(source="session_id")
    chapter = serializers.IntegerField()
    step = serializers.IntegerField()
    checkpoints = CheckpointOutput(many=True)
    lastMessageId = serializers.IntegerField(source="last_message_id", required=False)


# --- Messages and history --------------------------------------------------------------------


class AfterIdField(FlexibleIdField):
    """A message id to read after; `0` (nothing seen yet) is allowed and means "from the start"."""

    default_error_messages = {
        "invalid": "Must be a non-negative integer message id (number or numeric string)."
    }

    def to_internal_value(self, data):
        if not isinstance(data, bool) and (
            data == 0 or (isinstance(data, str) and data.strip() == "0")
        ):
            return 0
        return super().to_internal_value(data)


class MessageListQuery(serializers.Serializer):
    sessionId = serializers.CharField(max_length=64)
    afterId = AfterIdField(required=False)


class MessageCreateInput(serializers.Serializer):
    sessionId = StrictCharField(max_length=64)
    role = serializers.ChoiceField(choices=MessageRole.values)
    content = StrictCharField(trim_whitespace=False, allow_blank=False)
    type = serializers.ChoiceField(choices=MessageType.values, required=False)


class IdOutput(serializers.Serializer):
    id = serializers.IntegerField()


def message_rows_json(rows: list[dict]) -> list[dict]:
    """Render `selectors.message_list` rows; the shape `MessageOutput` documents."""
    out = []
    for row in rows:
        item = {"id": row["id"], "role": row["role"], "content": row["content"]}
        if row["type"]:
            item["type"] = row["type"]
        item["createdAt"] = iso_utc(row["created_at"])
        out.append(item)
    return out


def history_rows_json(rows: list[dict]) -> list[dict]:
    """Render `selectors.history_list` rows; the shape `HistoryItemOutput` documents."""
    return [
        {
            "content": row["content"],
            "game_id": row["game_id"],
            "image_url": f"/api/ai/images/{row['image_id']}" if row["image_id"] else None,
            "role": row["role"],
            "sequence_number": row["sequence_number"],
            "timestamp": iso_utc(row["created_at"]),
        }
        for row in rows
    ]


class MessageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    role = serializers.CharField()
    content = serializers.CharField()
    type = serializers.CharField(required=False)
    createdAt = IsoDateTimeField(source="created_at")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not data.get("type"):
            data.pop("type", None)
        return data


class HistoryItemOutput(serializers.Serializer):
    content = serializers.CharField()
    game_id = serializers.IntegerField()
    image_url = serializers.CharField(allow_null=True, help_text="Served by this server")
    role = serializers.CharField()
    sequence_number = serializers.IntegerField()
    timestamp = IsoDateTimeField(source="created_at")


class HistoryOutput(serializers.Serializer):
    success = serializers.BooleanField()
    data = HistoryItemOutput(many=True)
    total = serializers.IntegerField()
    source = serializers.CharField()


def _check_json_size(value, name: str) -> None:
    if len(json.dumps(value)) > JSON_VALUE_MAX_CHARS:
        raise serializers.ValidationError(f"{name} is larger than {JSON_VALUE_MAX_CHARS} chars.")
