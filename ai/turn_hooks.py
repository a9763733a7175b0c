"""The family's side of a turn (`ai.engine`): what `prepare` decides, how a turn ended, and
the hooks a family supplies. `ai.engine` re-exports every name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ai.events import TurnEvent
from ai.prompting import SentPrompt
from ai.types import ChatMessage


@dataclass(frozen=True)
class TurnPlan:
    """What `prepare` decided: the model's instructions, the conversation, and optionally the
    reply's id (families whose messages have client-visible ids allocate it themselves)."""

    system_prompt: str
    history: list[ChatMessage]
    reply_id: str | None = None
    model: str | None = None
    post_history: str | None = None


@dataclass
class TurnOutcome:
    """How a finished turn ended: the stored reply (None when stopped before any text) and
    what the family added after it."""

    message: Any
    stopped: bool
    extras: dict = field(default_factory=dict)


class TurnHooks(Protocol):
    """What a family supplies. Hooks run inside the turn's own task."""

    task: str

    async def prepare(self) -> TurnPlan:
        """Check the conversation, claim it (`registry.claim`) when it takes one turn at a
        time, store the user's line, build the prompt."""

    async def persist(self, text: str, *, reply_id: str, stopped: bool) -> Any:
        """Store the reply (the service publishes it after commit) and return it."""

    async def on_event(self, event: TurnEvent) -> None:
        """See every event as it happens (e.g. relay deltas to other processes' sockets)."""

    def on_prompt(self, sent: SentPrompt) -> None:
        """See what is sent to the model, just before the call (e.g. to store it with the
        reply)."""

    async def after_saved(self, message: Any, emit: Callable[[TurnEvent], Awaitable[None]]) -> dict:
        """Work after the reply is stored (state extraction, choices); returns extras."""


class BaseHooks:
    """Defaults for the optional hooks (subclasses set `task` and write the other two)."""

    async def on_event(self, event: TurnEvent) -> None:
        """Nothing to relay by default."""
        return None

    def on_prompt(self, sent: SentPrompt) -> None:
        """Nothing to keep by default."""
        return None

    async def after_saved(self, message: Any, emit: Callable[[TurnEvent], Awaitable[None]]) -> dict:
        """Nothing to add by default."""
        return {}
