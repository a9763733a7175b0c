"""What the rest of the code calls: one function per capability, each naming its task.

Every one-shot call passes the engine's limits (`ai.limits`: the process's cap and, for a
named `caller`, AI_TURN_RATE); a call made inside a turn is the turn's and is not counted
again. Structured output is validated against its JSON schema here, whatever the provider, and a
malformed answer is asked for once more before it becomes AIBadOutput.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import jsonschema
from django.conf import settings

from ai import limits
from ai.errors import AIBadOutput, AIMalformedAnswer
from ai.providers import get_provider
from ai.types import IMAGE_MIMES, IMAGE_SIZES, ChatMessage, GeneratedImage
from core import metrics

logger = logging.getLogger("ai")


def _model(task: str) -> str:
    return settings.AI_TASKS[task]["model"]


def stream_chat(
    *, task: str, messages: list[ChatMessage], model: str | None = None
) -> AsyncIterator[str]:
    """The reply as text pieces (`ReasoningText` pieces for reasoning); `model` overrides
    the task's configured model (callers check it against their allow-list)."""
    provider = get_provider(task)
    stream = provider.stream_chat(model=model or _model(task), messages=messages)
    return metrics.model_stream(task, provider.name, stream)


async def complete(*, task: str, messages: list[ChatMessage], caller: str | None = None) -> str:
    """The whole reply as one text."""
    provider = get_provider(task)
    async with limits.model_call(caller):
        call = provider.complete(model=_model(task), messages=messages)
        return await metrics.model_call(task, provider.name, call)


async def structured(
    *, task: str, messages: list[ChatMessage], schema: dict, name: str, caller: str | None = None
):
    """A value valid for `schema`; one retry on a malformed answer, then AIBadOutput."""
    async with limits.model_call(caller):
        return await _structured(task=task, messages=messages, schema=schema, name=name)


async def _structured(*, task: str, messages: list[ChatMessage], schema: dict, name: str):
    provider = get_provider(task)
    last_error = ""
    for attempt in (1, 2):
        try:
            call = provider.structured(
                model=_model(task), messages=messages, schema=schema, name=name
            )
            value = await metrics.model_call(task, provider.name, call)
            jsonschema.validate(value, schema)
            return value
        except jsonschema.ValidationError as exc:
            last_error = exc.message
        except AIMalformedAnswer as exc:
            last_error = exc.message
        logger.warning(
            "AI structured output %s invalid (attempt %s): %s", name, attempt, last_error
        )
    raise AIBadOutput(f"The AI model's answer did not match the expected format: {last_error}")


async def image(
    *, prompt: str, size: str = "512x512", mime: str = "image/png", caller: str | None = None
) -> GeneratedImage:
    """One picture for `prompt`."""
    if size not in IMAGE_SIZES or mime not in IMAGE_MIMES:
        raise ValueError("unsupported image size or mime")
    provider = get_provider("images")
    async with limits.model_call(caller):
        call = provider.image(model=_model("images"), prompt=prompt, size=size, mime=mime)
        return await metrics.model_call("images", provider.name, call)


async def embed(*, texts: list[str], caller: str | None = None) -> list[list[float]]:
    """One vector per text."""
    provider = get_provider("embeddings")
    async with limits.model_call(caller):
        call = provider.embed(model=_model("embeddings"), texts=texts)
        return await metrics.model_call("embeddings", provider.name, call)
