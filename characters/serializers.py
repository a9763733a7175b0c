"""Shapes of the character routes: family G's camelCase sheet (seed 001 section 3) and
family C's persona (seed 002: `POST /api/characters`, `PUT /api/characters/{id}`)."""

from __future__ import annotations

import json

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from characters.models import STAT_KEYS
from config.api.fields import (
    FlexibleIdField,
    StrictCharField,
    StrictIntegerField,
    UserRefField,
    check_closed_object,
    user_ref_out,
)
from core.times import iso_utc

STAT_MAX = 1000
LEVEL_MAX = 1000
HEALTH_MAX = 1_000_000
INVENTORY_MAX_ITEMS = 500
JSON_MAX_CHARS = 32 * 1024
TAGS_MAX_ITEMS = 20
TAG_MAX_CHARS = 50


@extend_schema_field(
    {
        "type": "object",
        "properties": {key: {"type": "integer"} for key in STAT_KEYS},
        "additionalProperties": False,
    }
)
class StatsField(serializers.Field):
    """`{strength, dexterity, wisdom, charisma}` integers; any other key is refused."""

    def to_internal_value(self, data):
        check_closed_object(data, STAT_KEYS, "integer stats")
        for key, value in data.items():
            if isinstance(value, bool) or not isinstance(value, int):
                raise serializers.ValidationError(f"{key} must be an integer.")
            if not 0 <= value <= STAT_MAX:
                raise serializers.ValidationError(f"{key} must be between 0 and {STAT_MAX}.")
        return dict(data)

    def to_representation(self, value):
        return value


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 0},
            {
                "type": "object",
                "properties": {"current": {"type": "integer"}, "max": {"type": "integer"}},
                "additionalProperties": False,
            },
        ]
    }
)
class HealthField(serializers.Field):
    """A number (the current value) or `{current, max}`."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            check_closed_object(data, ("current", "max"), "current and max")
            if not data:
                raise serializers.ValidationError("Send current, max or both.")
            for key, value in data.items():
                _check_health_number(value, key, minimum=1 if key == "max" else 0)
            return dict(data)
        _check_health_number(data, "health", minimum=0)
        return data

    def to_representation(self, value):
        return value


def _check_health_number(value, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise serializers.ValidationError(f"{name} must be an integer or {{current, max}}.")
    if not minimum <= value <= HEALTH_MAX:
        raise serializers.ValidationError(f"{name} must be between {minimum} and {HEALTH_MAX}.")


class InventoryField(serializers.ListField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if len(value) > INVENTORY_MAX_ITEMS:
            raise serializers.ValidationError(f"At most {INVENTORY_MAX_ITEMS} items.")
        if len(json.dumps(value)) > JSON_MAX_CHARS:
            raise serializers.ValidationError(f"Larger than {JSON_MAX_CHARS} characters.")
        return value


class CharacterSheetInput(serializers.Serializer):
    """Fields every G write may carry."""

    name = StrictCharField(max_length=100)
    level = StrictIntegerField(min_value=1, max_value=LEVEL_MAX, required=False)
    stats = StatsField(required=False)
    inventory = InventoryField(child=serializers.JSONField(), required=False)
    avatar = StrictCharField(max_length=2048, required=False, allow_blank=True)
    health = HealthField(required=False)
    maxHealth = StrictIntegerField(min_value=1, max_value=HEALTH_MAX, required=False)

    def get_fields(self):
        fields = super().get_fields()
        # "class" is a Python keyword, so it is declared here.
        fields["class"] = StrictCharField(max_length=50, required=not self.partial)
        return fields


class CharacterCreateInput(CharacterSheetInput):
    userId = UserRefField(required=False)


class CharacterUpdateInput(CharacterSheetInput):
    """PATCH: every field optional, at least one present."""

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Nothing to update.")
        return attrs


class TagsField(serializers.ListField):
    """At most 20 non-blank strings of at most 50 characters, trimmed; repeats (compared
    casefolded) are dropped, the first spelling kept."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", StrictCharField(max_length=TAG_MAX_CHARS))
        kwargs.setdefault("max_length", TAGS_MAX_ITEMS)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        tags: list[str] = []
        seen: set[str] = set()
        for tag in super().to_internal_value(data):
            if tag.casefold() not in seen:
                seen.add(tag.casefold())
                tags.append(tag)
        return tags


class CharacterPersonaInput(CharacterSheetInput):
    """Family C's body: `name` (required on create), `description`, `tags`, and G's sheet
    fields, all optional. `opening_line`/`openingLine` are not fields: the server writes the
    line, so a client's value is ignored like any unknown key.

    `userId` and `gameId` are set on create (a character without a game is a C persona); an
    update may repeat them unchanged, or send null where they are unset, so that a client can
    send back the object it read.
    """

    description = StrictCharField(required=False, allow_blank=True)
    tags = TagsField(required=False)
    userId = UserRefField(required=False, allow_null=True)
    gameId = FlexibleIdField(required=False, allow_null=True)

    def get_fields(self):
        fields = super().get_fields()
        # A persona needs no class; a character read back with "class": "" may send it back.
        fields["class"] = StrictCharField(max_length=50, required=False, allow_blank=True)
        return fields


class CharacterPersonaUpdateInput(CharacterPersonaInput):
    """`PUT /api/characters/{id}`: the same fields, all optional; only the fields sent change
    (the seed's "update character metadata"), and at least one must be sent."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
        return fields

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Nothing to update.")
        return attrs


class CharacterCreatedOutput(serializers.Serializer):
    """`POST /api/games/:gameId/characters` (G): the id and the health it starts with."""

    id = serializers.IntegerField(source="pk")
    health = serializers.IntegerField(source="health.current")
    maxHealth = serializers.IntegerField(source="health.max")


class UtcDateTimeField(serializers.DateTimeField):
    """ISO 8601 in UTC with a trailing Z, as every family but A writes times."""

    def to_representation(self, value):
        return iso_utc(value)


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}], "nullable": True})
class StoredUserRefField(serializers.Field):
    """A stored userId as the client sent it (a number when it is an integer); null if none."""

    def to_representation(self, value):
        return user_ref_out(value) if value else None


class CharacterPersonaOutput(serializers.Serializer):
    """Family C's shape (`POST /api/characters` 201, `PUT /api/characters/{id}` 200): the
    seed's snake_case fields, then G's sheet fields ("existing fields") flat beside them under
    their G names. Every key is always present: an unset `description` is "", no `tags` is
    [], a persona without a game or player has `gameId`/`userId` null."""

    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    description = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    opening_line = serializers.CharField()
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()
    userId = StoredUserRefField(source="user_ref")
    gameId = serializers.IntegerField(source="game_id", allow_null=True)
    level = serializers.IntegerField()
    stats = StatsField()
    inventory = serializers.ListField(child=serializers.JSONField())
    avatar = serializers.CharField()
    health = serializers.IntegerField(source="health.current", allow_null=True, default=None)
    maxHealth = serializers.IntegerField(source="health.max", allow_null=True, default=None)

    def get_fields(self):
        fields = super().get_fields()
        # "class" is a Python keyword, so it is declared here.
        fields["class"] = serializers.CharField(source="character_class")
        return fields


class CharacterOutput(serializers.Serializer):
    """G's camelCase shape, plus C's fields when the character has them."""

    id = serializers.IntegerField()
    userId = serializers.JSONField(help_text="number or string, as the client sent it")
    gameId = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    level = serializers.IntegerField()
    stats = StatsField()
    inventory = serializers.ListField()
    avatar = serializers.CharField()
    health = serializers.IntegerField()
    maxHealth = serializers.IntegerField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    description = serializers.CharField(required=False)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    openingLine = serializers.CharField(required=False)

    def get_fields(self):
        fields = super().get_fields()
        fields["class"] = serializers.CharField()
        return fields

    def to_representation(self, character):
        health = character.health or {}
        data = {
            "id": character.pk,
            "userId": user_ref_out(character.user_ref) if character.user_ref else None,
            "gameId": character.game_id,
            "name": character.name,
            "class": character.character_class,
            "level": character.level,
            "stats": character.stats,
            "inventory": character.inventory,
            "avatar": character.avatar,
            "health": health.get("current"),
            "maxHealth": health.get("max"),
            "createdAt": iso_utc(character.created_at),
            "updatedAt": iso_utc(character.updated_at),
        }
        if character.description:
            data["description"] = character.description
        if character.tags:
            data["tags"] = character.tags
        if character.opening_line:
            data["openingLine"] = character.opening_line
        return data


class CharacterImportInput(serializers.Serializer):
    """`POST /api/characters/import`, multipart: one `file`, a PNG/APNG card or a JSON card."""

    file = serializers.FileField(
        help_text=(
            "A PNG/APNG with a `ccv3` (V3) or `chara` (V2/V1) tEXt chunk of base64 JSON "
            "(`ccv3` wins), or a V1, V2 (`chara_card_v2`) or V3 (`chara_card_v3`) JSON card"
        )
    )


class CharacterCardOutput(serializers.Serializer):
    """A Character Card V3 (kwaroran/character-card-spec-v3): `data` holds the card's fields,
    those the character keeps beyond the V3 ones included."""

    spec = serializers.ChoiceField(choices=["chara_card_v3"])
    spec_version = serializers.ChoiceField(choices=["3.0"])
    data = serializers.DictField(
        help_text=(
            "name, description, personality, scenario, first_mes, mes_example, creator_notes, "
            "system_prompt, post_history_instructions, alternate_greetings, character_book "
            "(when the character has a lorebook), tags, creator, character_version, "
            "extensions, group_only_greetings, creation_date, modification_date, and every "
            "other field the imported card had"
        )
    )
