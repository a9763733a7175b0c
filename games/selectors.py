"""Readers of the game domain. Views never query models directly.

Readers that answer a caller take it (`actor`: the token's user, or None) and filter by
`games.access`, the one place the ownership rule lives.
"""

from __future__ import annotations

import uuid

from django.apps import apps
from django.db.models import Q, QuerySet

from accounts.models import User
from core.errors import NotFoundError
from games import access
from games.errors import GameNotFound, GameTitleNotFound, SessionEnded, SessionNotFound
from games.models import Game, GameImage, GameSession, GameTitle, Message, Progress


def game_get(*, game_id: int) -> Game:
    try:
        return Game.objects.select_related("game_title").get(pk=game_id)
    except Game.DoesNotExist:
        raise GameNotFound(f"Game {game_id} not found") from None


def game_get_writable(*, game_id: int, actor: User | None) -> Game:
    """A game that `actor` may change (its owner, or staff), else 404 or 401/403."""
    game = game_get(game_id=game_id)
    access.ensure_may_change_game(
        owner_id=game.owner_id, actor=actor, not_found=GameNotFound(f"Game {game_id} not found")
    )
    return game


def session_character_find(*, character_id: int, actor: User | None):
    """The character `actor` may see, to start a session with, or None.

    Characters build on games (a character belongs to a game, and creating one creates its
    game), so games never imports the characters app: the model comes from Django's app
    registry under the label the session's foreign key already names, and the import graph
    stays one-way, characters above games.
    """
    character_model = apps.get_model("characters", "Character")
    return character_model.objects.filter(access.visible(actor), pk=character_id).first()


def game_title_get(*, title_id: int) -> GameTitle:
    try:
        return GameTitle.objects.get(pk=title_id)
    except GameTitle.DoesNotExist:
        raise GameTitleNotFound(f"Game title {title_id} not found") from None


def game_title_get_writable(*, title_id: int, actor: User | None) -> GameTitle:
    """A catalogue title that `actor` may change (staff only when ownership is private)."""
    access.ensure_may_change_titles(
        actor=actor, not_found=GameTitleNotFound(f"Game title {title_id} not found")
    )
    return game_title_get(title_id=title_id)


def game_title_of_game(*, game_id: int) -> GameTitle:
    game = Game.objects.select_related("game_title").filter(pk=game_id).first()
    if game is None:
        raise GameNotFound(f"Game {game_id} not found")
    if game.game_title is None:
        raise GameTitleNotFound(f"Game {game_id} has no title")
    return game.game_title


def game_title_of_game_writable(*, game_id: int, actor: User | None) -> GameTitle:
    """A game's title that `actor` may change: a title is catalogue data that other games
    may share, so the catalogue's rule applies."""
    access.ensure_may_change_titles(
        actor=actor, not_found=GameNotFound(f"Game {game_id} not found")
    )
    return game_title_of_game(game_id=game_id)


def game_title_list(*, theme: str | None = None, limit: int = 50) -> list[GameTitle]:
    """Catalogue, newest first; `theme` matches genre, title or description."""
    qs: QuerySet[GameTitle] = GameTitle.objects.all()
    if theme:
        qs = qs.filter(
            Q(genre__icontains=theme) | Q(title__icontains=theme) | Q(description__icontains=theme)
        )
    return list(qs[:limit])


def _session_uuid(session_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(session_id))
    except (ValueError, AttributeError, TypeError):
        raise SessionNotFound(f"Session {session_id} not found") from None


def session_get(*, session_id: str, for_update: bool = False) -> GameSession:
    """A session by id alone, whoever asks: for code that applies its own access rule (the
    `/ws` socket). Code answering a caller uses `session_get_for`."""
    return _session_in(GameSession.objects.all(), session_id, for_update=for_update)


def session_get_for(
    *, session_id: str, actor: User | None, for_update: bool = False
) -> GameSession:
    """A session `actor` may see; another user's, when ownership is private, is not found."""
    return _session_in(
        GameSession.objects.filter(access.visible(actor)), session_id, for_update=for_update
    )


def _session_in(qs, session_id: str, *, for_update: bool) -> GameSession:
    if for_update:
        qs = qs.select_for_update()
    try:
        return qs.get(pk=_session_uuid(session_id))
    except GameSession.DoesNotExist:
        raise SessionNotFound(f"Session {session_id} not found") from None


def session_get_changeable(
    *, session_id: str, actor: User | None, for_update: bool = False
) -> GameSession:
    """A session `actor` may change: 404 for an unknown (or hidden) one, 401/403 for another
    user's when ownership is not private."""
    session = session_get_for(session_id=session_id, actor=actor, for_update=for_update)
    access.ensure_may_change(
        owner_id=session.owner_id,
        actor=actor,
        what="This session",
        not_found=SessionNotFound(f"Session {session_id} not found"),
    )
    return session


def session_check_before_turn(*, session_id: str, actor: User | None) -> None:
    """Refuse a caller who may not write the session before an AI turn is counted or
    queued: when ownership is private, a busy or rate-limit answer must not tell another
    user that the session exists. While it is not, the turn's own locked check answers."""
    if access.ownership_private():
        session_get_changeable(session_id=session_id, actor=actor)


def progress_get(*, session_id: str, actor: User | None) -> Progress:
    """The session's progress with its checkpoints, in two queries."""
    try:
        return (
            Progress.objects.select_related("session")
            .prefetch_related("checkpoints")
            .filter(access.visible(actor, owner="session__owner"))
            .get(session_id=_session_uuid(session_id))
        )
    except Progress.DoesNotExist:
        raise SessionNotFound(f"Session {session_id} not found") from None


MESSAGE_ROW_FIELDS = ("id", "role", "content", "type", "created_at")
HISTORY_ROW_FIELDS = ("content", "game_id", "image_id", "role", "sequence_number", "created_at")


def message_list(
    *, session_id: str, after_id: int | None = None, actor: User | None = None
) -> list[dict]:
    """A session's messages in id order, only those after `after_id` when given, as rows
    (logs can be long: plain rows render several times faster than model instances).
    `actor` is the caller (None: no token)."""
    session_uuid = _session_uuid(session_id)
    if not GameSession.objects.filter(access.visible(actor), pk=session_uuid).exists():
        raise SessionNotFound(f"Session {session_id} not found")
    qs = Message.objects.filter(session_id=session_uuid).order_by("id")
    if after_id is not None:
        qs = qs.filter(id__gt=after_id)
    return list(qs.values(*MESSAGE_ROW_FIELDS))


def history_list(*, game_id: int, actor: User | None) -> list[dict]:
    """The messages of the sessions of a game that `actor` may see, by sequence_number, as
    rows: every session's while ownership is not private, else the caller's own (and those
    of sessions without an owner). A game the caller has no session in has an empty
    history, as a game nobody has played yet; an unknown game is 404."""
    if not Game.objects.filter(pk=game_id).exists():
        raise GameNotFound(f"Game {game_id} not found")
    qs = (
        Message.objects.filter(game_id=game_id)
        .filter(access.visible(actor, owner="session__owner"))
        .order_by("sequence_number")
    )
    return list(qs.values(*HISTORY_ROW_FIELDS))


HISTORY_WINDOW = 60


def session_history(*, session_id) -> list[dict]:
    """The newest text messages of a session (not pictures), oldest first, as the model's
    conversation."""
    rows = list(
        Message.objects.filter(session_id=session_id, image__isnull=True)
        .order_by("-id")
        .values("role", "content")[:HISTORY_WINDOW]
    )
    return [{"role": r["role"], "content": r["content"]} for r in reversed(rows)]


def session_get_writable(*, session_id: str, actor) -> GameSession:
    """A session that still takes messages and that `actor` may write, with what the prompt
    needs (a check before a model call; writers check again under a lock)."""
    session = session_get_changeable(session_id=session_id, actor=actor)
    if session.is_ended:
        raise SessionEnded(f"Session {session_id} has ended")
    return (
        GameSession.objects.select_related("game__game_title", "character", "progress")
        .filter(pk=session.pk)
        .get()
    )


def catalogue_title(*, name: str) -> GameTitle | None:
    """The catalogue title of that name, compared case-insensitively (the oldest wins)."""
    return GameTitle.objects.filter(title__iexact=name).order_by("id").first()


def game_image_get(*, image_id: int, actor: User | None) -> GameImage:
    """A generated picture of a session `actor` may see."""
    try:
        return GameImage.objects.filter(access.visible(actor, owner="session__owner")).get(
            pk=image_id
        )
    except GameImage.DoesNotExist:
        raise NotFoundError(f"Image {image_id} not found") from None
