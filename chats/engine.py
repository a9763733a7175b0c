"""The one conversation engine: build the prompt, stream the model, persist, publish.

Every family runs its AI turns through `run_turn`; a family supplies its system prompt, the
history, and a `persist` coroutine that saves the finished reply (its service publishes the
saved message after commit). Deltas go to `on_delta` as they arrive, for streaming clients.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

from django.conf import settings

from ai import client as ai
from ai.errors import AIServiceError
from ai.types import ChatMessage

PER_MESSAGE_OVERHEAD = 4


def estimate_tokens(text: str) -> int:
    """A rough count (about four characters a token), enough to budget a prompt."""
    return math.ceil(len(text) / 4) + PER_MESSAGE_OVERHEAD


def build_prompt(
    *, system_prompt: str, history: list[ChatMessage], budget: int | None = None
) -> list[ChatMessage]:
    """System prompt plus the newest history that fits the token budget (the newest message
    is always kept, whatever its size)."""
    budget = settings.AI_HISTORY_TOKEN_BUDGET if budget is None else budget
    remaining = budget - estimate_tokens(system_prompt)
    kept: list[ChatMessage] = []
    for message in reversed(history):
        cost = estimate_tokens(message["content"])
        if kept and cost > remaining:
            break
        kept.append({"role": message["role"], "content": message["content"]})
        remaining -= cost
    kept.reverse()
    return [{"role": "system", "content": system_prompt}, *kept]


async def run_turn[T](
    *,
    task: str,
    system_prompt: str,
    history: list[ChatMessage],
    persist: Callable[[str], Awaitable[T]],
    on_delta: Callable[[str], Awaitable[None]] | None = None,
) -> T:
    """Stream one model reply, hand each delta to `on_delta`, then persist the whole text."""
    messages = build_prompt(system_prompt=system_prompt, history=history)
    parts: list[str] = []
    async for delta in ai.stream_chat(task=task, messages=messages):
        parts.append(delta)
        if on_delta is not None:
            await on_delta(delta)
    text = "".join(parts).strip()
    if not text:
        raise AIServiceError("The AI model returned an empty reply")
    return await persist(text)
