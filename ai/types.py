"""Plain data passed to and from providers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


class ReasoningText(str):
    """A piece of the model's reasoning in a chat stream (plain `str` pieces are the reply).

    Providers yield reasoning this way, so that code reading only the reply can keep treating
    every piece as text, and the turn engine can tell the two apart.
    """

    __slots__ = ()


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes
    mime: str
    width: int
    height: int


IMAGE_SIZES = ("512x512", "768x768")
IMAGE_MIMES = ("image/png", "image/jpeg")
