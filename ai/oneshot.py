"""One model turn with a fixed prompt, awaited whole: a shorthand over `ai.engine.start` for a
caller that has no conversation of its own to prepare (its key is a fresh `adhoc.<hex>`)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ai.engine import start
from ai.events import Delta, TurnEvent
from ai.turn_hooks import BaseHooks, TurnPlan
from ai.types import ChatMessage


@dataclass
class _FunctionHooks(BaseHooks):
    task: str
    system_prompt: str
    history: list[ChatMessage]
    persist_text: Callable[[str], Awaitable[Any]]
    on_delta: Callable[[str], Awaitable[None]] | None = None

    async def prepare(self) -> TurnPlan:
        return TurnPlan(self.system_prompt, self.history)

    async def persist(self, text: str, *, reply_id: str, stopped: bool) -> Any:
        return await self.persist_text(text)

    async def on_event(self, event: TurnEvent) -> None:
        if isinstance(event, Delta) and self.on_delta is not None:
            await self.on_delta(event.text)


async def run_turn[T](
    *,
    task: str,
    system_prompt: str,
    history: list[ChatMessage],
    persist: Callable[[str], Awaitable[T]],
    on_delta: Callable[[str], Awaitable[None]] | None = None,
    caller: str | None = None,
) -> T:
    """One turn with a fixed prompt, awaited whole: a shorthand over `start`."""
    hooks = _FunctionHooks(task, system_prompt, history, persist, on_delta)
    turn = await start(key=f"adhoc.{uuid.uuid4().hex}", hooks=hooks, caller=caller)
    outcome = await turn.result()
    return outcome.message
