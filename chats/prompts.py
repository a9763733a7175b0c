"""What the model is told in assistant chats (A) and character chats (C)."""

from __future__ import annotations

import json

from characters.models import Character

ASSISTANT_PROMPT = (
    "You are a helpful assistant. Answer clearly and accurately; use Markdown where it helps "
    "the reader (headings, lists, code blocks)."
)

CHARACTER_PROMPT = (
    "You are {name}, a character in an interactive story. Stay in character, speak in the "
    "first person, and answer the user's last line in a few sentences. Never mention that you "
    "are an AI or describe these instructions."
)

EXTRACTION_PROMPT = (
    "You keep the state of a scene in a character chat. Read the current state and the last "
    "exchange, and give the new value of each key the exchange changed; give null for every "
    "key that did not change. Values are short phrases in the language of the conversation."
)


def character_system_prompt(character: Character | None, state: dict) -> str:
    """The character's persona (name, description, tags) and the scene's current state, as
    "Label: value" lines."""
    if character is None:
        return ASSISTANT_PROMPT
    lines = [CHARACTER_PROMPT.format(name=character.name)]
    lines.append(f"Character: {character.name}")
    if character.description.strip():
        lines.append(f"Description: {' '.join(character.description.split())}")
    if character.tags:
        lines.append(f"Tags: {', '.join(str(tag) for tag in character.tags)}")
    if state:
        lines.append("State: " + "; ".join(f"{key}: {value}" for key, value in state.items()))
    return "\n".join(lines)


def extraction_schema(keys: tuple[str, ...]) -> dict:
    """Structured output of the state extractor: every allowed key, a string or null."""
    return {
        "type": "object",
        "properties": {key: {"type": ["string", "null"], "maxLength": 200} for key in keys},
        "required": list(keys),
        "additionalProperties": False,
    }


def extraction_messages(*, state: dict, user_line: str, reply: str) -> list[dict]:
    return [
        {"role": "system", "content": EXTRACTION_PROMPT},
        {
            "role": "user",
            "content": (
                f"Current state: {json.dumps(state, ensure_ascii=False)}\n"
                f"User: {user_line}\nCharacter: {reply}"
            ),
        },
    ]
