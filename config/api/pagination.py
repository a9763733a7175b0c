"""Family M's page-number pagination: `?page=&limit=` in, the seed's `pagination` object out.

`page` starts at 1; `limit` defaults to 20 and may be at most 100. A page past the end is an
empty list with the true totals (not a 404), so a client can always read `total`. A `page` or
`limit` that is not a positive integer, or a `limit` over 100, is a 400 VALIDATION_ERROR that
names the parameter: a silently clamped limit would make a client believe it got what it
asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True)
class PageRequest:
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def _positive_int(raw, name: str, default: int, maximum: int | None = None) -> int:
    if raw is None or raw == "":
        return default
    text = str(raw).strip()
    if not text.isdigit() or int(text) < 1:
        raise ValidationError({name: [f"{name} must be a positive integer."]})
    value = int(text)
    if maximum is not None and value > maximum:
        raise ValidationError({name: [f"{name} must be at most {maximum}."]})
    return value


class MoviePagination(BasePagination):
    """Slice a queryset (or list) by `page`/`limit` and describe the page.

    Usage in a view: `items, pagination = MoviePagination().paginate(qs, request)`, then answer
    `{"<things>": serialize(items), "pagination": pagination}`. Costs one COUNT query and one
    query for the page.
    """

    default_limit = DEFAULT_LIMIT
    max_limit = MAX_LIMIT

    def page_request(self, request) -> PageRequest:
        params = request.query_params
        return PageRequest(
            page=_positive_int(params.get("page"), "page", 1),
            limit=_positive_int(params.get("limit"), "limit", self.default_limit, self.max_limit),
        )

    def paginate(self, queryset, request, *, page: PageRequest | None = None):
        """Return (items of the page as a list, the pagination object)."""
        page = page or self.page_request(request)
        total = (
            queryset.count()
            if hasattr(queryset, "count") and not isinstance(queryset, list)
            else len(queryset)
        )
        items = list(queryset[page.offset : page.offset + page.limit]) if total else []
        return items, self.describe(page, total)

    @staticmethod
    def describe(page: PageRequest, total: int) -> dict:
        total_pages = math.ceil(total / page.limit) if total else 0
        return {
            "page": page.page,
            "limit": page.limit,
            "total": total,
            "totalPages": total_pages,
            "hasNext": page.page < total_pages,
            "hasPrev": page.page > 1,
        }

    # DRF's interface, for generic views and the schema generator.
    def paginate_queryset(self, queryset, request, view=None):
        items, self._pagination = self.paginate(queryset, request)
        return items

    def get_paginated_response(self, data):
        from rest_framework.response import Response

        return Response({"items": data, "pagination": self._pagination})

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "page",
                "required": False,
                "in": "query",
                "description": "Page number, from 1.",
                "schema": {"type": "integer", "minimum": 1, "default": 1},
            },
            {
                "name": "limit",
                "required": False,
                "in": "query",
                "description": f"Items per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}).",
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_LIMIT,
                    "default": DEFAULT_LIMIT,
                },
            },
        ]


class PaginationOutput(serializers.Serializer):
    """The seed's `pagination` object, for response serializers and the OpenAPI schema (one
    component, "Pagination", shared by every M list)."""

    page = serializers.IntegerField(min_value=1)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT)
    total = serializers.IntegerField(min_value=0)
    totalPages = serializers.IntegerField(min_value=0)
    hasNext = serializers.BooleanField()
    hasPrev = serializers.BooleanField()

    class Meta:
        ref_name = "Pagination"
