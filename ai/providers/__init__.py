"""Model providers behind one interface; `get_provider(task)` picks the configured one."""

from __future__ import annotations

import asyncio
import weakref
from functools import cache

from django.conf import settings

from ai.providers.base import Provider
from ai.providers.offline import OfflineProvider
from ai.providers.openai_compat import OpenAICompatibleProvider


def get_provider(task: str) -> Provider:
    """The provider configured for `task` (dialogue, extraction, opening_line, choices,
    images, embeddings): offline when no endpoint or key is set for it."""
    config = settings.AI_TASKS[task]
    if config["offline"]:
        return _offline()
    return _openai(config["base_url"], config["api_key"], config["timeout"], config["max_retries"])


@cache
def _offline() -> OfflineProvider:
    return OfflineProvider()


# One client per event loop: an AsyncOpenAI client's pooled connections belong to the loop that
# opened them, and a loop that is gone (async_to_sync, a sync test client, a task worker run
# each call in a new loop) leaves them unusable ("Event loop is closed"). Weak keys let a
# finished loop's clients go with it.
_openai_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict] = (
    weakref.WeakKeyDictionary()
)
_openai_without_loop: dict = {}


def _openai(base_url: str, api_key: str, timeout: float, max_retries: int):
    try:
        clients = _openai_by_loop.setdefault(asyncio.get_running_loop(), {})
    except RuntimeError:
        clients = _openai_without_loop
    key = (base_url, api_key, timeout, max_retries)
    if key not in clients:
        clients[key] = OpenAICompatibleProvider(
            base_url=base_url or None, api_key=api_key, timeout=timeout, max_retries=max_retries
        )
    return clients[key]


def reset_providers() -> None:
    """Forget cached clients (tests that change AI settings call this)."""
    _offline.cache_clear()
    _openai_by_loop.clear()
    _openai_without_loop.clear()


def diagnostics() -> dict:
    """Which provider and model serves each task, without secrets."""
    tasks = {}
    for task, config in settings.AI_TASKS.items():
        tasks[task] = {
            "provider": "offline" if config["offline"] else "openai-compatible",
            "model": "offline" if config["offline"] else config["model"],
            "baseUrl": None if config["offline"] else (config["base_url"] or "api.openai.com"),
        }
    offline = all(t["provider"] == "offline" for t in tasks.values())
    return {"provider": "offline" if offline else "mixed-or-remote", "tasks": tasks}
