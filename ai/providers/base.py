"""The provider interface every model backend implements."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from ai.types import ChatMessage, GeneratedImage


class Provider(Protocol):
    name: str

    def stream_chat(self, *, model: str, messages: list[ChatMessage]) -> AsyncIterator[str]:
        """Yield the reply as text deltas."""

    async def complete(self, *, model: str, messages: list[ChatMessage]) -> str:
        """The whole reply at once."""

    async def structured(
        self, *, model: str, messages: list[ChatMessage], schema: dict, name: str
    ) -> object:
        """A JSON value the model produced for `schema` (validated by the caller)."""

    async def image(self, *, model: str, prompt: str, size: str, mime: str) -> GeneratedImage:
        """A PNG or JPEG image of the asked square size."""

    async def embed(self, *, model: str, texts: list[str]) -> list[list[float]]:
        """One vector per text."""
