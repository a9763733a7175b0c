"""The offline provider: deterministic, in-process, no network and no model download.

It is the embedded default so that every route runs and is testable anywhere. Its replies say
that they come from the offline provider; a given input always gives the same output.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import math
import random
import re
from collections.abc import AsyncIterator

from django.conf import settings
from PIL import Image, ImageDraw

from ai.types import ChatMessage, GeneratedImage

logger = logging.getLogger("ai")

OFFLINE_TAG = "[offline provider]"
_WORD_RE = re.compile(r"[\w'-]+", re.UNICODE)
_STOPWORDS = frozenset(
    "a an and are as at be but by do for from has have i in is it its me my of on or so that "
    "the their then there this to was we what when where which who will with you your".split()
)

_OPENINGS = (
    "The air shifts as you act.",
    "A hush falls over the scene.",
    "Somewhere nearby, something answers your move.",
    "The story leans toward you.",
)
_TWISTS = (
    "A faint light flickers ahead, as if someone is waiting.",
    "Footsteps echo, then stop just out of sight.",
    "An old mark on the wall seems to point the way.",
    "The wind carries a word you almost recognise.",
)
_PROMPTS = (
    "What do you do next?",
    "Where do you go from here?",
    "How do you respond?",
    "What is your next move?",
)


def _seed(*parts: str) -> int:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def keywords(text: str, limit: int = 6) -> list[str]:
    """The text's content words, in order, without repeats."""
    seen: list[str] = []
    for word in _WORD_RE.findall(text.lower()):
        if word not in _STOPWORDS and 2 < len(word) <= 24 and word not in seen:
            seen.append(word)
        if len(seen) >= limit:
            break
    return seen


def _context_line(messages: list[ChatMessage], label: str) -> str:
    """A "Label: value" line from the system prompt (families write their context that way)."""
    for message in messages:
        if message["role"] != "system":
            continue
        for line in message["content"].splitlines():
            if line.lower().startswith(label.lower() + ":"):
                return line.split(":", 1)[1].strip()
    return ""


def _last_user(messages: list[ChatMessage]) -> str:
    for message in reversed(messages):
        if message["role"] == "user":
            return message["content"]
    return ""


_GREETINGS = (
    "Oh, hello there.",
    "Well met, stranger.",
    "Ah, you found me.",
    "Welcome, come closer.",
)
_INVITES = (
    "What brings you to me?",
    "Shall we begin?",
    "Tell me, what is your name?",
    "Sit, and tell me what you need.",
)


def compose_opening_line(messages: list[ChatMessage]) -> str:
    """A character's first words, in the first person, from the prompt's "Character:",
    "Description:" and "Tags:" lines (the opening-line prompt, "Task: opening line")."""
    name = _context_line(messages, "Character") or "nobody in particular"
    description = _context_line(messages, "Description")
    tags = [t.strip() for t in _context_line(messages, "Tags").split(",") if t.strip()]
    rng = random.Random(_seed("opening line", name, description, ",".join(tags)))
    parts = [OFFLINE_TAG, rng.choice(_GREETINGS), f"I'm {name}."]
    if tags:
        parts.append(f"They say I'm {', '.join(tags[:3])}.")
    words = keywords(description, 3)
    if words:
        parts.append(f"Ask me about {', '.join(words)}, if you like.")
    parts.append(rng.choice(_INVITES))
    return " ".join(parts)


def compose_reply(messages: list[ChatMessage]) -> str:
    """A short, coherent reply that uses the player's words, the character and the scenario."""
    if _context_line(messages, "Task").casefold() == "opening line":
        return compose_opening_line(messages)
    rng = random.Random(_seed(*(m["role"] + m["content"] for m in messages)))
    said = " ".join(_last_user(messages).split())
    character = _context_line(messages, "Character")
    scenario = _context_line(messages, "Scenario")
    parts = [OFFLINE_TAG]
    if said.lower().rstrip(".!") == "begin":
        game = _context_line(messages, "Game") or "the adventure"
        who = character.split(",")[0] if character else "you"
        parts.append(f"{game} begins.")
        if scenario:
            parts.append(scenario)
        parts.append(f"{who.capitalize()} stand{'s' if character else ''} at the threshold.")
        parts.append(rng.choice(_TWISTS))
        parts.append(rng.choice(_PROMPTS))
        return " ".join(parts)
    if said:
        quoted = said if len(said) <= 160 else said[:157] + "..."
        who = character.split(",")[0] if character else "You"
        parts.append(f'{who} {"says" if character else "say"}: "{quoted}".')
    parts.append(rng.choice(_OPENINGS))
    words = keywords(said, 3)
    if words:
        parts.append(f"Your {', '.join(words)} set things in motion.")
    if scenario:
        parts.append(f"Remember the mission: {scenario}")
    parts.append(rng.choice(_TWISTS))
    parts.append(rng.choice(_PROMPTS))
    return " ".join(parts)


def _value_for(schema: dict, rng: random.Random, words: list[str], path: str) -> object:
    """A deterministic value that satisfies `schema` (the subset structured output uses)."""
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {
            key: _value_for(sub, rng, words, f"{path}.{key}" if path else key)
            for key, sub in props.items()
        }
    if kind == "array":
        low = schema.get("minItems", 1)
        high = schema.get("maxItems", max(low, 3))
        count = rng.randint(low, max(low, min(high, low + 2)))
        item = schema.get("items", {"type": "string"})
        return [_value_for(item, rng, words, f"{path}[{i}]") for i in range(count)]
    if kind == "integer":
        low = schema.get("minimum", 0)
        return rng.randint(low, schema.get("maximum", low + 100))
    if kind == "number":
        low = schema.get("minimum", 0.0)
        return round(rng.uniform(low, schema.get("maximum", low + 1.0)), 3)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    word = words[rng.randrange(len(words))] if words else "story"
    leaf = path.rsplit(".", 1)[-1].split("[")[0]
    text = f"{word} {leaf}".strip() if leaf else word
    max_len = schema.get("maxLength")
    return text[:max_len] if max_len else text


class OfflineProvider:
    name = "offline"

    def __init__(self) -> None:
        logger.info("AI: using the offline provider (no model endpoint configured)")

    async def stream_chat(self, *, model: str, messages: list[ChatMessage]) -> AsyncIterator[str]:
        delay = settings.AI_OFFLINE_DELAY
        words = compose_reply(messages).split(" ")
        for index, word in enumerate(words):
            if delay:
                await asyncio.sleep(delay)
            yield word if index == 0 else " " + word

    async def complete(self, *, model: str, messages: list[ChatMessage]) -> str:
        return compose_reply(messages)

    async def structured(
        self, *, model: str, messages: list[ChatMessage], schema: dict, name: str
    ) -> object:
        text = " ".join(m["content"] for m in messages if m["role"] != "system")
        rng = random.Random(_seed(name, text))
        return _value_for(schema, rng, keywords(text, 12), "")

    async def image(self, *, model: str, prompt: str, size: str, mime: str) -> GeneratedImage:
        width, height = (int(part) for part in size.split("x"))
        data = draw_image(prompt, width, height, "JPEG" if mime == "image/jpeg" else "PNG")
        return GeneratedImage(data=data, mime=mime, width=width, height=height)

    async def embed(self, *, model: str, texts: list[str]) -> list[list[float]]:
        return [embed_text(text, settings.AI_EMBEDDING_DIMENSIONS) for text in texts]


def draw_image(prompt: str, width: int, height: int, fmt: str) -> bytes:
    """A real picture: a two-colour gradient sky, a horizon and shapes chosen by the prompt."""
    rng = random.Random(_seed("image", prompt))
    top = tuple(rng.randrange(40, 200) for _ in range(3))
    bottom = tuple(rng.randrange(0, 120) for _ in range(3))
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / max(1, height - 1)
        colour = tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, y), (width, y)], fill=colour)
    horizon = int(height * rng.uniform(0.55, 0.75))
    ground = tuple(rng.randrange(0, 90) for _ in range(3))
    draw.rectangle([0, horizon, width, height], fill=ground)
    for _ in range(3 + len(keywords(prompt, 5))):
        radius = rng.randrange(width // 40, width // 8)
        x, y = rng.randrange(width), rng.randrange(horizon)
        fill = tuple(rng.randrange(120, 256) for _ in range(3))
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=fill)
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def embed_text(text: str, dimensions: int) -> list[float]:
    """A unit vector by feature hashing of words: texts sharing words are closer than texts
    sharing none (whose vectors are nearly orthogonal)."""
    vector = [0.0] * dimensions
    words = _WORD_RE.findall(text.lower()) or ["\x00empty"]
    for word in words:
        digest = hashlib.sha256(word.encode("utf-8")).digest()
        for offset in (0, 4):
            index = int.from_bytes(digest[offset : offset + 4], "big") % dimensions
            sign = 1.0 if digest[8 + offset] & 1 else -1.0
            vector[index] += sign
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]
