"""The game master's AI turns: scenario, dialogue, images. REST and WebSocket share these.

Each turn checks and writes the database in short transactions (through `services`) and waits
on the model outside any transaction, through the one conversation engine in `chats`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction

from accounts.models import User
from ai import client as ai
from ai.errors import AIServiceError
from ai.types import ChatMessage
from chats import engine
from games import services
from games.errors import InvalidGameInput, PromptTooLarge
from games.models import GameImage, GameSession, GameTitle, Message, MessageRole

GM_PROMPT = (
    "You are the game master of a text role-playing game. Narrate in the second person, keep "
    "each reply under 120 words, stay consistent with the scenario and the character sheet, "
    "and end by inviting the player to act. Never speak for the player."
)
HISTORY_WINDOW = 60


@dataclass(frozen=True)
class TurnContext:
    session_id: str
    system_prompt: str
    history: list[ChatMessage]


def system_prompt_for(session: GameSession) -> str:
    """The game master's instructions plus "Label: value" lines of the session's context."""
    lines = [GM_PROMPT]
    game = session.game
    title = game.game_title
    if game.title or title:
        lines.append(f"Game: {game.title or title.title}")
    character = session.character
    if character is not None:
        health = character.health or {}
        stats = ", ".join(f"{k} {v}" for k, v in (character.stats or {}).items())
        lines.append(
            f"Character: {character.name}, level {character.level} "
            f"{character.character_class or 'adventurer'}"
            + (f"; {stats}" if stats else "")
            + (f"; health {health.get('current')}/{health.get('max')}" if health else "")
        )
    if title is not None and title.scenario:
        scenario = title.scenario
        parts = [
            scenario.get("hook"),
            f"The player is {scenario['role']}." if scenario.get("role") else None,
            f"Mission: {scenario['mission']}" if scenario.get("mission") else None,
        ]
        lines.append("Scenario: " + " ".join(p for p in parts if p))
    elif title is not None and title.description:
        lines.append(f"Scenario: {title.description}")
    progress = getattr(session, "progress", None)
    if progress is not None:
        lines.append(f"Progress: chapter {progress.chapter}, step {progress.step}")
    return "\n".join(lines)


def _locked_session(session_id: str, actor: User | None) -> GameSession:
    session = services.session_get_active_for_update(session_id=session_id, actor=actor)
    return (
        GameSession.objects.select_related("game__game_title", "character", "progress")
        .filter(pk=session.pk)
        .get()
    )


def _stored_history(session: GameSession) -> list[ChatMessage]:
    rows = list(
        Message.objects.filter(session=session, image__isnull=True)
        .order_by("-id")
        .values("role", "content")[:HISTORY_WINDOW]
    )
    return [{"role": r["role"], "content": r["content"]} for r in reversed(rows)]


# --- Dialogue --------------------------------------------------------------------------------


@database_sync_to_async
def _prepare_dialogue(session_id: str, history: list[ChatMessage], actor: User | None):
    """Check the session, store the player's newest line (unless already logged), and build
    the prompt. Client `system` lines are dropped: the server owns the instructions."""
    with transaction.atomic():
        session = _locked_session(session_id, actor)
        turns = [h for h in history if h["role"] in ("user", "assistant")]
        if turns and turns[-1]["role"] == "user":
            last = Message.objects.filter(session=session).order_by("-id").first()
            if last is None or last.role != "user" or last.content != turns[-1]["content"]:
                services.message_append(
                    session=session, role=MessageRole.USER, content=turns[-1]["content"]
                )
        if not turns:
            turns = _stored_history(session)
        return TurnContext(str(session.pk), system_prompt_for(session), turns)


@database_sync_to_async
def _store_reply(session_id: str, text: str, actor: User | None) -> Message:
    """Store the model's reply; the turn's caller must still be allowed to write the session
    (an owned session refuses an anonymous actor, so the caller's actor is passed on)."""
    with transaction.atomic():
        session = services.session_get_active_for_update(session_id=session_id, actor=actor)
        return services.message_append(
            session=session, role=MessageRole.ASSISTANT, content=text, from_client=False
        )


async def _game_master_reply(
    context: TurnContext,
    actor: User | None,
    on_delta: Callable[[str], Awaitable[None]] | None,
) -> Message:
    """One turn of the conversation engine, stored as the session's assistant message."""
    return await engine.run_turn(
        task="dialogue",
        system_prompt=context.system_prompt,
        history=context.history,
        persist=lambda text: _store_reply(context.session_id, text, actor),
        on_delta=on_delta,
    )


async def dialogue(
    *,
    session_id: str,
    history: list[ChatMessage],
    actor: User | None,
    on_delta: Callable[[str], Awaitable[None]] | None = None,
) -> Message:
    """Answer the player from `history` and the session's context; store the exchange."""
    context = await _prepare_dialogue(session_id, history, actor)
    return await _game_master_reply(context, actor, on_delta)


@database_sync_to_async
def _store_user_line(session_id: str, content: str, actor: User | None) -> TurnContext:
    with transaction.atomic():
        session = _locked_session(session_id, actor)
        services.message_append(session=session, role=MessageRole.USER, content=content)
        return TurnContext(str(session.pk), system_prompt_for(session), _stored_history(session))


async def user_message(
    *,
    session_id: str,
    content: str,
    actor: User | None,
    on_delta: Callable[[str], Awaitable[None]] | None = None,
) -> Message:
    """A player's line from the socket: log and broadcast it, then the game master's reply."""
    services.message_content_check(content)
    context = await _store_user_line(session_id, content, actor)
    return await _game_master_reply(context, actor, on_delta)


# --- Scenario --------------------------------------------------------------------------------


def _catalogue_title(template_title: str) -> GameTitle | None:
    """The catalogue title of that name, compared case-insensitively (the oldest wins)."""
    return GameTitle.objects.filter(title__iexact=template_title).order_by("id").first()


@database_sync_to_async
def _scenario_prompt(session_id: str, template_title: str, actor: User | None) -> str:
    """The prompt as it will be once the title is linked; nothing is written yet."""
    with transaction.atomic():
        session = _locked_session(session_id, actor)
    title = _catalogue_title(template_title) or GameTitle(title=template_title)
    if session.game.game_title_id is None:
        session.game.game_title = title
    return (
        f"{system_prompt_for(session)}\nTask: open the adventure \u201c{title.title}\u201d. "
        "Set the scene in a few sentences when the player says Begin."
    )


@database_sync_to_async
def _store_scenario(
    session_id: str, template_title: str, text: str, actor: User | None
) -> tuple[GameTitle, Message]:
    """In one transaction: reuse or create the title, link it to a game that has none, and
    log the opening narration. A failed model call before this leaves nothing behind."""
    with transaction.atomic():
        session = services.session_get_active_for_update(session_id=session_id, actor=actor)
        title = _catalogue_title(template_title) or GameTitle.objects.create(title=template_title)
        game = session.game
        if game.game_title_id is None:
            game.game_title = title
            game.save(update_fields=["game_title", "updated_at"])
        message = services.message_append(
            session=session, role=MessageRole.ASSISTANT, content=text, from_client=False
        )
        return title, message


async def generate_scenario(
    *, session_id: str, template_title: str, actor: User | None
) -> tuple[GameTitle, Message]:
    """Open the story: the title's scenario, an opening narration stored in the session log."""
    instructions = await _scenario_prompt(session_id, template_title, actor)
    text = await ai.complete(
        task="dialogue",
        messages=[
            {"role": "system", "content": instructions},
            {"role": "user", "content": "Begin."},
        ],
    )
    if not text.strip():
        raise AIServiceError("The AI model returned an empty scenario")
    return await _store_scenario(session_id, template_title, text.strip(), actor)


# --- Images ----------------------------------------------------------------------------------


def image_prompt_check(prompt: str) -> None:
    limit = settings.GAME_IMAGE_PROMPT_MAX_CHARS
    if not prompt.strip():
        raise InvalidGameInput("prompt: must not be blank")
    if len(prompt) > limit:
        raise PromptTooLarge(f"prompt is {len(prompt)} characters; the limit is {limit}")


@database_sync_to_async
def _check_session(session_id: str, actor: User | None) -> None:
    with transaction.atomic():
        services.session_get_active_for_update(session_id=session_id, actor=actor)


@database_sync_to_async
def _store_image(
    session_id: str, prompt: str, generated, actor: User | None
) -> tuple[GameImage, Message]:
    with transaction.atomic():
        session = services.session_get_active_for_update(session_id=session_id, actor=actor)
        image = GameImage.objects.create(
            session=session,
            prompt=prompt,
            mime=generated.mime,
            width=generated.width,
            height=generated.height,
            data=generated.data,
        )
        message = services.message_append(
            session=session, role=MessageRole.ASSISTANT, content=prompt, image=image
        )
        return image, message


async def image_create(
    *, session_id: str, prompt: str, size: str, mime: str, actor: User | None
) -> tuple[GameImage, Message]:
    """Draw a picture for the session, store it, log and broadcast it."""
    image_prompt_check(prompt)
    await _check_session(session_id, actor)
    generated = await ai.image(prompt=prompt, size=size, mime=mime)
    return await _store_image(session_id, prompt, generated, actor)
