"""Input and output shapes of the game server's REST routes (seeds 000 and 001)."""

from __future__ import annotations

import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.api.fields import (
    MAX_ID,
    FlexibleIdField,
    StrictCharField,
    StrictIntegerField,
    UserRefField,
    check_closed_object,
    user_ref_out,
)
from core.times import iso_utc
from games.models import MessageRole, MessageType, image_url

SCENARIO_KEYS = ("hook", "role", "mission")
JSON_VALUE_MAX_CHARS = 32 * 1024


class OmitNoneMixin:
    """Drop optional keys the seed marks with `?`: those named in `omit_if_none` when their
    value is None, those in `omit_if_empty` when it is empty ("" or None)."""

    omit_if_none: tuple[str, ...] = ()
    omit_if_empty: tuple[str, ...] = ()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for key in self.omit_if_none:
            if data.get(key) is None:
                data.pop(key, None)
        for key in self.omit_if_empty:
            if not data.get(key):
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
    """The action was done."""

    ok = serializers.BooleanField()


OK = {"ok": True}  # what OkOutput renders: `OkOutput(OK).data`


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


@extend_schema_field(
    {
        "type": "object",
        "properties": {key: {"type": "string", "maxLength": 4000} for key in SCENARIO_KEYS},
        "additionalProperties": False,
    }
)
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
    """A catalogue title; `scenario` only when it has one."""

    omit_if_none = ("scenario",)

    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    image = serializers.CharField()
    genre = serializers.CharField()
    date = IsoDateTimeField(source="created_at")
    scenario = ScenarioField(required=False, allow_null=True)


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
    """A session's story progress; `lastMessageId` only once it is set."""

    omit_if_none = ("lastMessageId",)

    sessionId = serializers.CharField(source="session_id")
    chapter = serializers.IntegerField()
    step = serializers.IntegerField()
    checkpoints = CheckpointOutput(many=True)
    lastMessageId = serializers.IntegerField(source="last_message_id", required=False)


# --- Messages and history --------------------------------------------------------------------


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 0, "maximum": MAX_ID},
            {"type": "string", "pattern": "^\\s*[0-9]+\\s*$"},
        ]
    }
)
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
    """The id of what was created."""

    id = serializers.IntegerField(source="pk")


@extend_schema_field(OpenApiTypes.STR)
class ImageUrlField(serializers.Field):
    """A generated image's URL on this server, from its id (null when there is none)."""

    def to_representation(self, value):
        return image_url(value)


class MessageOutput(serializers.Serializer):
    """A message of a session's log; `type` only when it has one."""

    # The fields declare the shape (the schema reads them); `to_representation` builds it by
    # hand from a `selectors.message_list` row, because logs are long and DRF's field-by-field
    # rendering cost about 10 ms per 1,000 rows more. The contract tests and the schema
    # test (every answer validated against the schema) keep the two in step.
    id = serializers.IntegerField()
    role = serializers.CharField()
    content = serializers.CharField()
    type = serializers.CharField(required=False)
    createdAt = IsoDateTimeField(source="created_at")

    def to_representation(self, row):
        data = {"id": row["id"], "role": row["role"], "content": row["content"]}
        if row["type"]:
            data["type"] = row["type"]
        data["createdAt"] = iso_utc(row["created_at"])
        return data


class HistoryItemOutput(serializers.Serializer):
    """A message of a game's history."""

    # Renders the rows of `selectors.history_list` (or Message instances).
    content = serializers.CharField()
    game_id = serializers.IntegerField()
    image_url = ImageUrlField(source="image_id", allow_null=True, help_text="Served by this server")
    role = serializers.CharField()
    sequence_number = serializers.IntegerField()
    timestamp = IsoDateTimeField(source="created_at")


class HistoryOutput(serializers.Serializer):
    """Every message of every session of a game, in `sequence_number` order."""

    # The instance is the list of `selectors.history_list` rows: `HistoryOutput(rows).data`.
    success = serializers.SerializerMethodField()
    data = HistoryItemOutput(many=True, source="*")
    total = serializers.SerializerMethodField()
    source = serializers.SerializerMethodField()

    def get_success(self, rows) -> bool:
        return True

    def get_total(self, rows) -> int:
        return len(rows)

    def get_source(self, rows) -> str:
        return "database"


def _check_json_size(value, name: str) -> None:
    if len(json.dumps(value)) > JSON_VALUE_MAX_CHARS:
        raise serializers.ValidationError(f"{name} is larger than {JSON_VALUE_MAX_CHARS} chars.")
