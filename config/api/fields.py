"""Serializer fields for the game server's loosely typed ids: `42` and `"42"` name one thing."""

from __future__ import annotations

import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MAX_ID = 2**63 - 1
_INT_RE = re.compile(r"^\d+$")


def parse_int_id(value: object) -> int | None:
    """Return the integer named by `value` (an int or numeric string), or None if not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _INT_RE.match(value.strip()):
        number = int(value.strip())
    else:
        return None
    return number if 1 <= number <= MAX_ID else None


def user_ref_out(ref: str) -> int | str:
    """Give a stored userId back as the client sent it: a JSON number when it is an integer."""
    if ref and _INT_RE.match(ref) and str(int(ref)) == ref and int(ref) <= MAX_ID:
        return int(ref)
    return ref


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            {"type": "string", "pattern": "^\\s*[0-9]+\\s*$"},
        ]
    }
)
class FlexibleIdField(serializers.Field):
    """An integer id sent as a number or a numeric string."""

    default_error_messages = {
        "invalid": "Must be a positive integer id (number or numeric string)."
    }

    def to_internal_value(self, data):
        number = parse_int_id(data)
        if number is None:
            self.fail("invalid")
        return number

    def to_representation(self, value):
        return int(value)


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string", "maxLength": 128}]})
class UserRefField(serializers.Field):
    """A client-chosen user id, number or string; stored as its string form."""

    default_error_messages = {
        "invalid": "Must be a number or a non-empty string of at most 128 characters.",
    }

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int):
            if data < 0 or data > MAX_ID:
                self.fail("invalid")
            return str(data)
        if isinstance(data, str) and 0 < len(data.strip()) <= 128:
            return data.strip()
        self.fail("invalid")

    def to_representation(self, value):
        return user_ref_out(value)


def check_closed_object(data: object, allowed: tuple[str, ...], what: str) -> dict:
    """An object whose keys all come from `allowed`; anything else is a ValidationError."""
    if not isinstance(data, dict):
        raise serializers.ValidationError(f"Must be an object of {what}.")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise serializers.ValidationError(
            f"Unknown key(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}."
        )
    return data


class StrictCharField(serializers.CharField):
    """A string, and only a string: numbers, booleans and objects are refused."""

    default_error_messages = {"not_a_string": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: strings, booleans and fractions are refused."""

    default_error_messages = {"not_an_integer": "Must be an integer."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("not_an_integer")
        return super().to_internal_value(data)
