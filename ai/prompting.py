"""A turn's prompt: the token estimate, the messages that fit the history budget, and the
record of what was sent (re-exported by `ai.engine`, which builds and sends them)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings

from ai.types import ChatMessage

PER_MESSAGE_OVERHEAD = 4


def estimate_tokens(text: str) -> int:
    """A rough count (about four characters a token), enough to budget a prompt."""
    return math.ceil(len(text) / 4) + PER_MESSAGE_OVERHEAD


def build_prompt(
    *,
    system_prompt: str,
    history: list[ChatMessage],
    budget: int | None = None,
    post_history: str | None = None,
) -> list[ChatMessage]:
    """System prompt plus the newest history that fits the token budget (the newest message
    is always kept, whatever its size), then `post_history` as a last system message when
    given (a character card's post-history instructions, which SillyTavern sends after the
    chat history); the budget pays for it before the history."""
    budget = settings.AI_HISTORY_TOKEN_BUDGET if budget is None else budget
    remaining = budget - estimate_tokens(system_prompt)
    if post_history:
        remaining -= estimate_tokens(post_history)
    kept: list[ChatMessage] = []
    for message in reversed(history):
        cost = estimate_tokens(message["content"])
        if kept and cost > remaining:
            break
        kept.append({"role": message["role"], "content": message["content"]})
        remaining -= cost
    kept.reverse()
    tail: list[ChatMessage] = [{"role": "system", "content": post_history}] if post_history else []
    return [{"role": "system", "content": system_prompt}, *kept, *tail]


@dataclass(frozen=True)
class SentPrompt:
    """What a turn sent to the model: the messages exactly as sent (system prompt and the
    history trimmed to its budget), the model named in the call and the provider that took
    it (its `name`: "offline" or "openai-compatible")."""

    messages: list[ChatMessage]
    model: str
    provider: str
