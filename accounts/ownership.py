"""Who may change what: a resource created with a token belongs to that token's user."""

from __future__ import annotations

from accounts.models import User
from core.errors import AccessDenied, AuthRequired


def actor_or_none(user: User | None) -> User | None:
    """The signed-in user behind a request, or None for an anonymous caller."""
    if user is not None and user.is_authenticated:
        return user
    return None


def ensure_may_change(*, owner_id: int | None, actor: User | None, what: str) -> None:
    """Refuse a change to an owned resource by anyone but its owner.

    Resources created without a token have no owner and stay open, as the seed designs it.
    """
    if owner_id is None:
        return
    if actor is None:
        raise AuthRequired(f"{what} belongs to a signed-in user; send their Bearer token")
    if actor.pk != owner_id:
        raise AccessDenied(f"{what} belongs to another user")
