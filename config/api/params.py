"""Parsing of URL path and query parameters shared by the family views."""

from __future__ import annotations

from config.api.fields import parse_int_id
from core.errors import NotFoundError


def path_int_id(value: str, what: str) -> int:
    """An integer id from a URL path; anything else names nothing, so it is a 404."""
    number = parse_int_id(value)
    if number is None:
        raise NotFoundError(f"{what} {value} not found")
    return number


def query_input(serializer_class, request) -> dict:
    """Validate query parameters with a serializer; a bad one is a 400 naming it."""
    serializer = serializer_class(data=request.query_params.dict())
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def body_input(serializer_class, request, *, partial: bool = False) -> dict:
    """Validate a JSON body, which must be an object, with a serializer."""
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
