"""Who may read and change family G's data: the one place the rule lives.

Selectors and services take the caller (`actor`: the token's user, or None without a token)
and ask this module; views only pass the caller on. Reads are filtered in the query
(`visible`), so a refused row costs no extra query and a list never checks rows one by one.

Sessions (with their progress, messages and images) and characters:

- With `GAME_REQUIRE_AUTH` off (the seed's open design), everyone reads everything. A row
  created with a token has an owner, and only the owner changes it: another user gets 403, a
  caller without a token 401 (`accounts.ownership.ensure_may_change`). A row without an owner
  stays open to everyone.
- With `GAME_REQUIRE_AUTH` on, an owned row exists only for its owner: anyone else reads and
  writes nothing of it and gets the 404 an unknown id gets, with the same message, so ids
  cannot be probed. A row without an owner (made before tokens were required, or in the
  admin) stays open to every signed-in caller, as the `/ws` socket treats it.

Games are worlds several players' sessions may share, and a game's text reaches each of their
system prompts. Anyone reads a game and may play in it; only its owner (the user whose
request first referenced it: starting a session, creating a character or its title) or staff
change it. With `GAME_REQUIRE_AUTH` on, a game without an owner is staff's, and anyone else
gets 404; with it off, a game without an owner stays open as the seed designs it.

Catalogue titles are shared by every game that links them: with `GAME_REQUIRE_AUTH` on, only
staff create, change or delete them (others get 404); with it off they stay open.

`/api/ai/diagnostics` names the model servers' addresses and models: open in the embedded
demo, staff only in the production shape (`PRODUCTION_SHAPE`: a database or Redis URL, or
HTTPS, is set), where anyone else gets 404, as if the route did not exist.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q

from accounts import ownership
from accounts.models import User
from core.errors import DomainError, NotFoundError


def ownership_private() -> bool:
    """True when owned rows are hidden from everyone but their owner (GAME_REQUIRE_AUTH)."""
    return bool(settings.GAME_REQUIRE_AUTH)


def visible(actor: User | None, *, owner: str = "owner") -> Q:
    """The rows `actor` may read and write, as a filter on the owner field path `owner`
    (`"owner"` on sessions and characters, `"session__owner"` on messages and images)."""
    if not ownership_private():
        return Q()
    rows = Q(**{f"{owner}__isnull": True})
    if actor is not None:
        rows |= Q(**{owner: actor})
    return rows


def ensure_may_change(
    *, owner_id: int | None, actor: User | None, what: str, not_found: DomainError
) -> None:
    """Refuse a change of a session or character by anyone but its owner: 404 (`not_found`)
    when ownership is private, else 401/403 as `accounts.ownership` answers."""
    if ownership_private():
        if owner_id is not None and (actor is None or actor.pk != owner_id):
            raise not_found
        return
    ownership.ensure_may_change(owner_id=owner_id, actor=actor, what=what)


def _is_staff(actor: User | None) -> bool:
    return actor is not None and actor.is_staff


def may_change_game(*, owner_id: int | None, actor: User | None) -> bool:
    """Whether `actor` may change a game owned by `owner_id` (see the module's rule)."""
    if _is_staff(actor):
        return True
    if owner_id is None:
        return not ownership_private()
    return actor is not None and actor.pk == owner_id


def ensure_may_change_game(
    *, owner_id: int | None, actor: User | None, not_found: DomainError
) -> None:
    """Refuse a change of a game by anyone but its owner or staff: 404 (`not_found`) when
    ownership is private, else 401/403 as for sessions."""
    if may_change_game(owner_id=owner_id, actor=actor):
        return
    if ownership_private():
        raise not_found
    ownership.ensure_may_change(owner_id=owner_id, actor=actor, what="This game")


def ensure_may_change_titles(*, actor: User | None, not_found: DomainError) -> None:
    """Refuse a change of the title catalogue by anyone but staff when ownership is private."""
    if ownership_private() and not _is_staff(actor):
        raise not_found


def ensure_may_see_diagnostics(*, actor: User | None) -> None:
    """Refuse the AI diagnostics to anyone but staff outside the embedded demo."""
    if settings.PRODUCTION_SHAPE and not _is_staff(actor):
        raise NotFoundError("Not found")
