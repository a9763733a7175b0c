"""AI turns of chats (families A and C): async services over the one turn engine.

- `reply_start` runs family A's streamed reply: it stores the request's last user message
  (or finds it, or stores an edit as a new version; `branches.turn_submit`), or places a
  regenerated reply (`branches.turn_regenerate`); it answers from the active branch's
  stored history and stores the reply under the id the stream announces. The transport
  (SSE) only renders the turn's events.
- `character_turn` runs family C's turn: the character's reply, then the state extraction
  (structured output) merged into the chat's state. If only the extraction fails, the reply
  is kept and the state is unchanged. A character chat's streamed reply (A's route) takes
  the same steps.
Writes go through `services`, reads through `selectors`; nothing waits on the model inside a
transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction

from ai import client as ai
from ai import engine, events, registry
from chats import branches, prompts, selectors, services
from chats.errors import ReplyInFlight
from chats.models import Chat, Message, MessageRole
from core import db_batch
from core.errors import DomainError

if TYPE_CHECKING:
    from chats.identity import Identity

logger = logging.getLogger("chats")


def turn_key(chat_id) -> str:
    """The engine's name for a chat's conversation."""
    return f"chat.{chat_id}"


def model_for(requested: str | None) -> str | None:
    """The model that serves a request: the asked one when it is on ASSISTANT_MODELS, else
    the configured default (None)."""
    if requested and requested in settings.ASSISTANT_MODELS:
        return requested
    return None


@dataclass
class ChatReply(engine.BaseHooks):
    """A chat's part of a turn: its prompt and history, and its reply row. The chat takes one
    turn at a time: `prepare` claims it in the turn registry, which also logs the turn's
    events so another process can resume or stop it.

    A character chat's turn (family C) goes on after the reply: it extracts the scene's new
    state and merges it, and the reply keeps the state it led to, so the branch it ends has
    its own state."""

    chat_id: str
    user_id: str | None
    user_content: str | None
    model: str | None = None
    task: str = "dialogue"
    reply_id: str = ""
    state_before: dict = field(default_factory=dict)
    user_message: Message | None = None
    # The AI SDK's request: the id of the message before the user line (where a new line
    # goes), or a regenerate of the reply `regenerate_id` (None: the active leaf's).
    previous_id: str | None = None
    regenerate: bool = False
    regenerate_id: str | None = None
    parent_pk: int | None = None
    # Who must own the chat (checked in `prepare`, where the chat's row is locked and read
    # once); None when the caller has checked it.
    owner: Identity | None = None
    keeps_state: bool = False  # a character chat: the reply keeps the state it led to
    # The prompt as built (lorebook entries included) and as the engine sent it.
    chat_prompt: prompts.ChatPrompt | None = None
    sent: engine.SentPrompt | None = None

    async def prepare(self) -> engine.TurnPlan:
        # Starts that arrive together store their lines in one transaction (core/db_batch.py).
        return await db_batch.run(self._prepare)

    def _prepare(self) -> engine.TurnPlan:
        plan: engine.TurnPlan | None = None

        def known(history: list[dict], state: dict) -> None:
            # The prompt is decided: the model is called now, while the line is written and
            # the batch commits (its first token still goes out only after the commit).
            nonlocal plan
            plan = self._plan(chat, history, state)
            engine.plan_known(plan)

        # Inside the batch's transaction (a savepoint of its own when others share it).
        with transaction.atomic(savepoint=False):
            chat = services.chat_locked(self.chat_id, owner=self.owner)
            if not registry.claim(turn_key(self.chat_id)):
                raise ReplyInFlight("A reply is already being generated for this chat")
            if self.regenerate:
                place = branches.turn_regenerate(chat, message_id=self.regenerate_id)
            else:
                place = branches.turn_submit(
                    chat,
                    client_id=self.user_id,
                    content=self.user_content or "",
                    previous_id=self.previous_id,
                    on_history=known,
                )
            if plan is None:  # a regenerate: its writes are made, not yet committed
                known(place.history, place.state)
        self.user_message = place.line
        self.user_content = place.line.content if place.line is not None else ""
        self.parent_pk = place.parent.pk
        return plan

    def _plan(self, chat: Chat, history: list[dict], state: dict) -> engine.TurnPlan:
        """The turn's prompt, from the history and state its place starts from."""
        self.keeps_state = chat.character_id is not None
        self.state_before = dict(state)
        self.reply_id = services.new_client_id()
        self.chat_prompt = prompts.chat_prompt(chat.character, self.state_before, history)
        return engine.TurnPlan(
            system_prompt=self.chat_prompt.system_prompt,
            history=history,
            reply_id=self.reply_id,
            model=self.model,
            post_history=self.chat_prompt.post_history,
        )

    def on_prompt(self, sent: engine.SentPrompt) -> None:
        self.sent = sent

    async def persist(self, text: str, *, reply_id: str, stopped: bool) -> Message:
        return await database_sync_to_async(services.reply_store)(
            self.chat_id,
            reply_id,
            text,
            stopped=stopped,
            state_snapshot=dict(self.state_before) if self.keeps_state else None,
            parent_pk=self.parent_pk,
            prompt=(
                prompts.prompt_record(self.sent, self.chat_prompt)
                if self.sent is not None and self.chat_prompt is not None
                else None
            ),
        )

    async def after_saved(self, message: Message, emit) -> dict:
        if not self.keeps_state:
            return {}
        keys = tuple(settings.CHAT_STATE_KEYS)
        try:
            extracted = await ai.structured(
                task="extraction",
                messages=prompts.extraction_messages(
                    state=self.state_before,
                    user_line=self.user_content or "",
                    reply=message.content,
                ),
                schema=prompts.extraction_schema(keys),
                name="chat_state",
            )
            update = {k: v for k, v in extracted.items() if k in keys and isinstance(v, str) and v}
            state = await database_sync_to_async(services.reply_state_merge)(
                self.chat_id, message.pk, update
            )
        except DomainError as exc:
            logger.warning("State extraction failed for chat %s: %s", self.chat_id, exc.message)
            await emit(events.Error(str(exc.code), exc.message, stage="state"))
            return {"state_error": exc.message}
        await emit(events.State(state))
        return {"state": state}


async def reply_start(
    *,
    chat_id: object,
    owner: Identity | None,
    user_id: str | None,
    user_content: str | None,
    model: str | None,
    caller: str | None = None,
    previous_id: str | None = None,
    regenerate: bool = False,
    regenerate_id: str | None = None,
) -> tuple[engine.Turn, ChatReply]:
    """Start the chat's streamed reply (one at a time per chat: 409 while one runs, here or
    in another process; the claim in `prepare` makes it atomic, this look in this process
    only spares a busy chat the caller's rate count without a round trip on every start).
    `owner` must own the chat (checked in `prepare`, in the same query that locks the
    chat's row); None when the caller checked it."""
    chat_pk = selectors.parse_chat_id(chat_id)
    key = turn_key(chat_pk)
    if registry.busy_here(key):
        if owner is not None:  # another's chat, or an unknown one, is not answered as busy
            await db_batch.run(partial(selectors.chat_get_for, owner, chat_pk))
        raise ReplyInFlight("A reply is already being generated for this chat")
    hooks = ChatReply(
        chat_id=str(chat_pk),
        owner=owner,
        user_id=user_id,
        user_content=user_content,
        model=model_for(model),
        previous_id=previous_id,
        regenerate=regenerate,
        regenerate_id=regenerate_id,
    )
    return await engine.start(key=key, hooks=hooks, caller=caller), hooks


async def sdk_reply_start(
    *, chat_id: object, owner: Identity, data: dict, caller: str | None = None
) -> tuple[engine.Turn, ChatReply]:
    """`POST /api/chats/{id}` as the seed or the AI SDK sends it (`ChatStreamInput`): a
    regenerate of `messageId`, else the reply to the request's last user message."""
    if data.get("trigger") == "regenerate-message":
        return await reply_start(
            chat_id=chat_id,
            owner=owner,
            user_id=None,
            user_content=None,
            model=data.get("model"),
            caller=caller,
            regenerate=True,
            regenerate_id=data.get("messageId"),
        )
    last = user_message_of(data["messages"])
    return await reply_start(
        chat_id=chat_id,
        owner=owner,
        user_id=last.get("id"),
        user_content=last["text"],
        model=data.get("model"),
        caller=caller,
        previous_id=previous_id_of(data["messages"], last),
    )


async def character_turn(
    *, chat: Chat, content: str, caller: str | None = None
) -> tuple[Message, engine.TurnOutcome]:
    """A user line of a character chat: store it, reply, extract the state. Returns the
    stored user message and the turn's outcome (extras hold `state` or `state_error`)."""
    turn, hooks = await reply_start(
        chat_id=chat.pk, owner=None, user_id=None, user_content=content, model=None, caller=caller
    )
    outcome = await turn.result()
    return hooks.user_message, outcome


async def reply_stop(*, chat: Chat) -> bool:
    """Stop the chat's reply in flight (here, or through the replay log in another
    process); what was generated is stored, marked as stopped."""
    return await registry.stop(turn_key(chat.pk))


def user_message_of(messages: list[dict]) -> dict:
    """The request's last `user` message, as `{id, content}`."""
    for item in reversed(messages):
        if item["role"] == MessageRole.USER:
            return item
    raise DomainError("messages: Must contain a user message")


def previous_id_of(messages: list[dict], line: dict) -> str | None:
    """The id of the message just before `line` in the request (where a new line goes)."""
    index = next(i for i, item in enumerate(messages) if item is line)
    return messages[index - 1].get("id") if index else None
