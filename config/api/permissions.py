"""Permissions used by the family base views."""

from __future__ import annotations

from django.conf import settings
from rest_framework.permissions import BasePermission


class GameAccess(BasePermission):
    """Family G is open by the seed's design, unless GAME_REQUIRE_AUTH asks for a token."""

    message = "Authentication required: send Authorization: Bearer <token>"

    def has_permission(self, request, view) -> bool:
        if not settings.GAME_REQUIRE_AUTH:
            return True
        user = request.user
        return bool(user is not None and user.is_authenticated)


class Authenticated(BasePermission):
    message = "Authentication required"

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user is not None and user.is_authenticated)
