"""Writers of the game domain: the only code that changes games, sessions and the log.

Writers take the caller (`actor`) and check it through `games.access` (by way of the
selectors), the one place the ownership rule lives.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from ai.types import ChatMessage, GeneratedImage
from core.limits import content_size_check
from games import access, prompts, selectors
from games.errors import (
    GameNotFound,
    GameTitleNotFound,
    InvalidGameInput,
    MessageTooLarge,
    SessionEnded,
    TitleAlreadyLinked,
)
from games.models import (
    Checkpoint,
    Game,
    GameImage,
    GameSession,
    GameTitle,
    Message,
    MessageRole,
    MessageType,
    Progress,
    SessionStatus,
)
from realtime import events as publish

GAME_FIELDS = ("title", "genre", "difficulty", "metadata")
TITLE_FIELDS = ("title", "description", "image", "genre", "scenario")


def game_get_or_create(*, game_id: int, actor: User | None) -> Game:
    """Return the game, creating an empty one on first reference; the caller who creates it
    owns it."""
    game, _ = Game.objects.get_or_create(pk=game_id, defaults={"owner": actor})
    return game


def game_update(*, game_id: int, data: dict, actor: User | None) -> Game:
    game = selectors.game_get_writable(game_id=game_id, actor=actor)
    for name in GAME_FIELDS:
        if name in data:
            setattr(game, name, data[name])
    game.save()
    return game


# --- Game titles -----------------------------------------------------------------------------


def game_title_create(*, data: dict, actor: User | None) -> GameTitle:
    access.ensure_may_change_titles(actor=actor, not_found=GameTitleNotFound("Not found"))
    return GameTitle.objects.create(**{k: v for k, v in data.items() if k in TITLE_FIELDS})


def game_title_update(*, title: GameTitle, data: dict, actor: User | None) -> GameTitle:
    access.ensure_may_change_titles(
        actor=actor, not_found=GameTitleNotFound(f"Game title {title.pk} not found")
    )
    for name in TITLE_FIELDS:
        if name in data:
            setattr(title, name, data[name])
    title.save()
    return title


def game_title_delete(*, title: GameTitle, actor: User | None) -> None:
    """Delete a catalogue title; games that used it keep running without one."""
    access.ensure_may_change_titles(
        actor=actor, not_found=GameTitleNotFound(f"Game title {title.pk} not found")
    )
    title.delete()


@transaction.atomic
def game_title_attach(*, game_id: int, data: dict, actor: User | None) -> GameTitle:
    """Create a title for a game (creating the game on first reference); 409 if it has one.
    The title is catalogue data and the link changes the game: both rules apply."""
    access.ensure_may_change_titles(
        actor=actor, not_found=GameNotFound(f"Game {game_id} not found")
    )
    game_get_or_create(game_id=game_id, actor=actor)
    game = Game.objects.select_for_update().get(pk=game_id)
    access.ensure_may_change_game(
        owner_id=game.owner_id, actor=actor, not_found=GameNotFound(f"Game {game_id} not found")
    )
    if game.game_title_id is not None:
        raise TitleAlreadyLinked(
            f"Game {game_id} already has a title; change it with PATCH /api/games/{game_id}/title"
        )
    title = game_title_create(data=data, actor=actor)
    game.game_title = title
    game.save(update_fields=["game_title", "updated_at"])
    return title


@transaction.atomic
def game_title_detach(*, game_id: int, actor: User | None) -> None:
    """Remove a game's title: delete it unless other games share it, else only unlink."""
    access.ensure_may_change_titles(
        actor=actor, not_found=GameNotFound(f"Game {game_id} not found")
    )
    game = selectors.game_get_writable(game_id=game_id, actor=actor)
    title = game.game_title
    if title is None:
        raise GameTitleNotFound(f"Game {game_id} has no title")
    Game.objects.filter(pk=game_id).update(game_title=None, updated_at=timezone.now())
    if not title.games.exists():
        title.delete()


# --- Sessions --------------------------------------------------------------------------------


@transaction.atomic
def session_start(
    *, game_id: int, user_ref: str | None, character_id: int, actor: User | None
) -> GameSession:
    """Start a session with its progress row; the game is created on first reference (and
    then owned by the caller). The character must be one the caller may change; another
    user's is "not found" when ownership is private, as an unknown one."""
    game = game_get_or_create(game_id=game_id, actor=actor)
    character = selectors.session_character_find(character_id=character_id, actor=actor)
    missing = InvalidGameInput(f"characterId: character {character_id} not found")
    if character is None:
        raise missing
    access.ensure_may_change(
        owner_id=character.owner_id, actor=actor, what="This character", not_found=missing
    )
    if character.game_id is not None and character.game_id != game.pk:
        raise InvalidGameInput(
            f"characterId: character {character_id} belongs to game {character.game_id}"
        )
    if user_ref is None:
        if actor is None:
            raise InvalidGameInput("userId: This field is required.")
        user_ref = actor.public_id
    session = GameSession.objects.create(
        game=game, user_ref=user_ref, owner=actor, character=character
    )
    Progress.objects.create(session=session, chapter=1, step=0)
    return session


@transaction.atomic
def session_end(*, session_id: str, actor: User | None) -> GameSession:
    """Mark a session ended; ending it again is a no-op, so clients may retry safely."""
    session = selectors.session_get_changeable(session_id=session_id, actor=actor, for_update=True)
    if not session.is_ended:
        session.status = SessionStatus.ENDED
        session.ended_at = timezone.now()
        session.save(update_fields=["status", "ended_at"])
    return session


def session_get_active_for_update(*, session_id: str, actor: User | None) -> GameSession:
    """Lock a session that may still take messages; must run inside a transaction."""
    session = selectors.session_get_changeable(session_id=session_id, actor=actor, for_update=True)
    if session.is_ended:
        raise SessionEnded(f"Session {session_id} has ended")
    return session


# --- Progress --------------------------------------------------------------------------------


def _checkpoint_upsert(*, progress: Progress, key: str, value: object) -> Checkpoint:
    checkpoint, _ = Checkpoint.objects.update_or_create(
        progress=progress, key=key, defaults={"value": value, "at": timezone.now()}
    )
    return checkpoint


@transaction.atomic
def progress_update(*, session_id: str, data: dict, actor: User | None) -> Progress:
    """Change chapter, step, last message; upsert checkpoints by key."""
    session = selectors.session_get_changeable(session_id=session_id, actor=actor, for_update=True)
    progress = Progress.objects.get(session=session)
    fields = []
    for name in ("chapter", "step"):
        if name in data:
            setattr(progress, name, data[name])
            fields.append(name)
    if "lastMessageId" in data:
        message_id = data["lastMessageId"]
        if (
            message_id is not None
            and not Message.objects.filter(pk=message_id, session=session).exists()
        ):
            raise InvalidGameInput(
                f"lastMessageId: message {message_id} is not a message of this session"
            )
        progress.last_message_id = message_id
        fields.append("last_message")
    progress.save(update_fields=[*fields, "updated_at"])
    for item in data.get("checkpoints", []):
        _checkpoint_upsert(progress=progress, key=item["key"], value=item.get("value"))
    return selectors.progress_get(session_id=session_id, actor=actor)


@transaction.atomic
def checkpoint_add(*, session_id: str, key: str, value: object, actor: User | None) -> Checkpoint:
    session = selectors.session_get_changeable(session_id=session_id, actor=actor, for_update=True)
    progress = Progress.objects.get(session=session)
    checkpoint = _checkpoint_upsert(progress=progress, key=key, value=value)
    Progress.objects.filter(pk=progress.pk).update(updated_at=timezone.now())
    return checkpoint


# --- Messages --------------------------------------------------------------------------------


def message_content_check(content: str) -> None:
    content_size_check(content, error=MessageTooLarge)


def _next_sequence_number(game_id: int) -> int:
    """Bump and return the game's counter. The UPDATE's row lock orders concurrent writers,
    and a rolled-back message gives its number back, so numbers stay gap-free."""
    Game.objects.filter(pk=game_id).update(last_sequence_number=F("last_sequence_number") + 1)
    return Game.objects.filter(pk=game_id).values_list("last_sequence_number", flat=True).get()


def message_append(
    *,
    session: GameSession,
    role: str,
    content: str,
    type: str = "",
    image: GameImage | None = None,
    from_client: bool = True,
    stopped: bool = False,
) -> Message:
    """Append to a locked, active session's log and announce it after commit.

    The 32 KiB limit applies to what clients send; the model's own replies are stored whole.
    """
    if from_client:
        message_content_check(content)
    message = Message.objects.create(
        session=session,
        game_id=session.game_id,
        sequence_number=_next_sequence_number(session.game_id),
        role=role,
        content=content,
        type=type,
        image=image,
        stopped=stopped,
    )
    # The event names the message; each socket consumer loads what its frame shows.
    publish.message_stored(
        group=publish.game_group(str(session.pk)),
        message={"id": message.pk, "session_id": str(session.pk)},
    )
    return message


@transaction.atomic
def message_create(
    *, session_id: str, role: str, content: str, type: str = "", actor: User | None
) -> Message:
    """Write one message to a session's log (409 once the session has ended)."""
    if type and type not in MessageType.values:
        raise InvalidGameInput(f"type: must be one of {', '.join(MessageType.values)}")
    message_content_check(content)
    session = session_get_active_for_update(session_id=session_id, actor=actor)
    return message_append(session=session, role=role, content=content, type=type)


# --- AI turns: the writes before and after the model answers ---------------------------------


def _session_for_turn(*, session_id: str, actor: User | None) -> GameSession:
    """Lock an active session the actor may write, with what the prompt needs."""
    session = session_get_active_for_update(session_id=session_id, actor=actor)
    return (
        GameSession.objects.select_related("game__game_title", "character", "progress")
        .filter(pk=session.pk)
        .get()
    )


@transaction.atomic
def dialogue_prepare(
    *, session_id: str, history: list[ChatMessage], actor: User | None
) -> tuple[str, str, list[ChatMessage]]:
    """Check the session, store the player's newest line of `history` (unless it is already
    the last logged message) and return (session id, system prompt, conversation). Client
    `system` lines are dropped: the server owns the instructions. An empty history answers
    from the stored log."""
    session = _session_for_turn(session_id=session_id, actor=actor)
    turns = [h for h in history if h["role"] in ("user", "assistant")]
    if turns and turns[-1]["role"] == "user":
        last = Message.objects.filter(session=session).order_by("-id").first()
        if last is None or last.role != "user" or last.content != turns[-1]["content"]:
            message_append(session=session, role=MessageRole.USER, content=turns[-1]["content"])
    if not turns:
        turns = selectors.session_history(session_id=session.pk)
    return str(session.pk), prompts.system_prompt_for(session), turns


def user_line_store(
    *, session_id: str, content: str, actor: User | None
) -> tuple[str, str, list[ChatMessage]]:
    """Log and announce a player's line, then read what the reply's prompt needs; return
    (session id, system prompt, conversation).

    The line is written in a transaction of its own (`message_create`: the session locked,
    checked, counted, the row inserted), so its socket frame leaves at that commit; the
    prompt's reads (the session with its game, character and progress, and the log) come
    after, outside the lock, and do not hold up the frame every player of the session waits
    for (bench/fanout.py)."""
    message = message_create(
        session_id=session_id, role=MessageRole.USER, content=content, actor=actor
    )
    session = GameSession.objects.select_related("game__game_title", "character", "progress").get(
        pk=message.session_id
    )
    history = selectors.session_history(session_id=session.pk)
    return str(session.pk), prompts.system_prompt_for(session), history


@transaction.atomic
def reply_store(*, session_id: str, text: str, actor: User | None, stopped: bool) -> Message:
    """Store the game master's reply. The turn's caller must still be allowed to write the
    session (an owned session refuses an anonymous actor, so the caller's actor is passed)."""
    session = session_get_active_for_update(session_id=session_id, actor=actor)
    return message_append(
        session=session,
        role=MessageRole.ASSISTANT,
        content=text,
        from_client=False,
        stopped=stopped,
    )


@transaction.atomic
def scenario_store(
    *, session_id: str, template_title: str, text: str, actor: User | None
) -> tuple[GameTitle, Message]:
    """In one transaction: reuse or create the title, link it to a game that has none, and
    log the opening narration. A failed model call before this leaves nothing behind."""
    session = session_get_active_for_update(session_id=session_id, actor=actor)
    title = selectors.catalogue_title(name=template_title) or GameTitle.objects.create(
        title=template_title
    )
    game = session.game
    # Linking the title changes the game: only for a caller who may change it. A new
    # catalogue title holds nothing but the name the player asked for.
    if game.game_title_id is None and access.may_change_game(owner_id=game.owner_id, actor=actor):
        game.game_title = title
        game.save(update_fields=["game_title", "updated_at"])
    message = message_append(
        session=session, role=MessageRole.ASSISTANT, content=text, from_client=False
    )
    return title, message


@transaction.atomic
def image_store(
    *, session_id: str, prompt: str, generated: GeneratedImage, actor: User | None
) -> tuple[GameImage, Message]:
    """Keep a generated picture and log it (the log entry links to it)."""
    session = session_get_active_for_update(session_id=session_id, actor=actor)
    image = GameImage.objects.create(
        session=session,
        prompt=prompt,
        mime=generated.mime,
        width=generated.width,
        height=generated.height,
        data=generated.data,
    )
    message = message_append(
        session=session, role=MessageRole.ASSISTANT, content=prompt, image=image
    )
    return image, message
