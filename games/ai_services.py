"""The game master's AI turns (scenario, dialogue, images): async services.

The REST routes and the `/ws` socket both call these. Each writes through `services` (short
locked transactions) and reads through `selectors`, and never waits on the model inside a
transaction. Dialogue runs through the one turn engine (`ai.engine`): the reply is streamed
as a task of its own and stored even if the client that asked goes away. Scenario and image
calls are one-shot model calls under the same limits (`ai.limits`: the process's cap, and
the caller's AI_TURN_RATE), refused before anything is written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from accounts.models import User
from ai import client as ai
from ai import engine, events
from ai.errors import AIServiceError
from ai.types import IMAGE_MIMES, IMAGE_SIZES, ChatMessage
from core.times import iso_utc
from games import prompts, selectors, services
from games.errors import InvalidGameInput, PromptTooLarge
from games.models import GameImage, GameTitle, Message
from realtime import events as publish


def turn_key(session_id: str) -> str:
    """The engine's name for a session's conversation (one name whatever the UUID's case)."""
    try:
        return f"game.{uuid.UUID(str(session_id))}"
    except ValueError:
        return f"game.{session_id}"


@dataclass
class GameMasterReply(engine.BaseHooks):
    """Family G's part of a turn: its prompt and log, and deltas for `stream=1` sockets."""

    session_id: str
    actor: User | None
    history: list[ChatMessage] | None = None
    content: str | None = None
    task: str = "dialogue"
    turn_reply_id: str = ""
    deltas: publish.ReplyDeltas | None = None

    async def prepare(self) -> engine.TurnPlan:
        if self.content is not None:
            session_id, system_prompt, history = await database_sync_to_async(
                services.user_line_store
            )(session_id=self.session_id, content=self.content, actor=self.actor)
        else:
            session_id, system_prompt, history = await database_sync_to_async(
                services.dialogue_prepare
            )(session_id=self.session_id, history=self.history or [], actor=self.actor)
        self.session_id = session_id
        return engine.TurnPlan(system_prompt=system_prompt, history=history)

    async def persist(self, text: str, *, reply_id: str, stopped: bool) -> Message:
        # Every delta reaches the stream sockets before the stored reply's frame.
        if self.deltas is not None:
            await self.deltas.flush()
        return await database_sync_to_async(services.reply_store)(
            session_id=self.session_id, text=text, actor=self.actor, stopped=stopped
        )

    async def on_event(self, event: events.TurnEvent) -> None:
        """Deltas go to the session's `stream=1` sockets, gathered in short windows (one
        event per window for the whole group, not one per word: see publish.ReplyDeltas)."""
        if isinstance(event, events.Delta):
            if self.deltas is None:
                self.deltas = publish.ReplyDeltas(
                    group=publish.game_stream_group(self.session_id),
                    reply_id=self.turn_reply_id,
                )
            await self.deltas.add(event.text, iso_utc(timezone.now()))
        elif isinstance(event, events.Started):
            self.turn_reply_id = event.reply_id
        elif self.deltas is not None:
            # The turn ended, failed or was stopped: nothing gathered stays behind.
            await self.deltas.flush()


async def _reply(hooks: GameMasterReply, caller: str | None) -> Message:
    turn = await engine.start(key=turn_key(hooks.session_id), hooks=hooks, caller=caller)
    outcome = await turn.result()
    return outcome.message


async def dialogue(
    *, session_id: str, history: list[ChatMessage], actor: User | None, caller: str | None = None
) -> Message:
    """Answer the player from `history` and the session's context; store the exchange.
    `caller` (a user or an address) is counted against AI_TURN_RATE."""
    await database_sync_to_async(selectors.session_check_before_turn)(
        session_id=session_id, actor=actor
    )
    hooks = GameMasterReply(session_id=session_id, actor=actor, history=history)
    return await _reply(hooks, caller)


async def user_message(
    *, session_id: str, content: str, actor: User | None, caller: str | None = None
) -> Message:
    """A player's line from the socket: log and announce it, then the game master's reply."""
    hooks = GameMasterReply(session_id=session_id, actor=actor, content=content)
    return await _reply(hooks, caller)


# --- Scenario --------------------------------------------------------------------------------


@database_sync_to_async
def _scenario_prompt(session_id: str, template_title: str, actor: User | None) -> str:
    """The prompt as it will be once the title is linked; nothing is written yet."""
    session = selectors.session_get_writable(session_id=session_id, actor=actor)
    title = selectors.catalogue_title(name=template_title) or GameTitle(title=template_title)
    return prompts.scenario_instructions(session, title)


async def generate_scenario(
    *, session_id: str, template_title: str, actor: User | None, caller: str | None = None
) -> tuple[GameTitle, Message]:
    """Open the story: the title's scenario, an opening narration stored in the session log.
    `caller` (a user or an address) is counted against AI_TURN_RATE."""
    instructions = await _scenario_prompt(session_id, template_title, actor)
    text = await ai.complete(
        task="dialogue",
        messages=[
            {"role": "system", "content": instructions},
            {"role": "user", "content": "Begin."},
        ],
        caller=caller,
    )
    if not text.strip():
        raise AIServiceError("The AI model returned an empty scenario")
    return await database_sync_to_async(services.scenario_store)(
        session_id=session_id, template_title=template_title, text=text.strip(), actor=actor
    )


# --- Images ----------------------------------------------------------------------------------


def image_request_check(*, prompt: object, size: object, mime: object) -> None:
    """The one check of an image request, for the REST route and the socket alike."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidGameInput("prompt: must be a non-blank string")
    limit = settings.GAME_IMAGE_PROMPT_MAX_CHARS
    if len(prompt) > limit:
        raise PromptTooLarge(f"prompt is {len(prompt)} characters; the limit is {limit}")
    if size not in IMAGE_SIZES:
        raise InvalidGameInput(f"size: must be one of {', '.join(IMAGE_SIZES)}")
    if mime not in IMAGE_MIMES:
        raise InvalidGameInput(f"mime: must be one of {', '.join(IMAGE_MIMES)}")


async def image_create(
    *,
    session_id: str,
    prompt: str,
    size: str,
    mime: str,
    actor: User | None,
    caller: str | None = None,
) -> tuple[GameImage, Message]:
    """Draw a picture for the session, store it, log and announce it. `caller` (a user or
    an address) is counted against AI_TURN_RATE."""
    image_request_check(prompt=prompt, size=size, mime=mime)
    await database_sync_to_async(selectors.session_get_writable)(session_id=session_id, actor=actor)
    generated = await ai.image(prompt=prompt, size=size, mime=mime, caller=caller)
    return await database_sync_to_async(services.image_store)(
        session_id=session_id, prompt=prompt, generated=generated, actor=actor
    )
