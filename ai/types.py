"""Plain data passed to and from providers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes
    mime: str
    width: int
    height: int


IMAGE_SIZES = ("512x512", "768x768")
IMAGE_MIMES = ("image/png", "image/jpeg")
