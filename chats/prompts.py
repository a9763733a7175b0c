"""What the model is told in assistant chats (A) and character chats (C)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ai.engine import SentPrompt, estimate_tokens
from characters.lorebook import Fired, lorebook_fire, macros
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

# V2: a card's system prompt and post-history instructions name the text they replace so.
ORIGINAL = "{{original}}"

EXTRACTION_PROMPT = (
    "You keep the state of a scene in a character chat. Read the current state and the last "
    "exchange, and give the new value of each key the exchange changed; give null for every "
    "key that did not change. Values are short phrases in the language of the conversation."
)


@dataclass(frozen=True)
class ChatPrompt:
    """What a chat's turn sends besides its history: the system prompt, the post-history
    instructions (a character card's, sent after the history), the lorebook entries that
    fired, and how many history messages the turn had before the budget trimmed them."""

    system_prompt: str
    post_history: str | None = None
    lorebook: tuple[Fired, ...] = ()
    history_count: int = 0


def chat_prompt(character: Character | None, state: dict, history: list[dict]) -> ChatPrompt:
    """A chat's prompt: A's fixed one, or the character's, built as SillyTavern builds a
    card's (its story string, then the example dialogue):

    - the card's `system_prompt` replaces the default instructions (`{{original}}` in it
      stands for them);
    - lorebook entries placed `before_char`, then the character's definition ("Character",
      "Description", "Personality", "Scenario", "Tags" lines), then `after_char` entries,
      each group in insertion order; the entries fire on `history` (`characters.lorebook`);
    - the card's example dialogue, then the scene's state;
    - the card's `post_history_instructions` go after the history (the engine sends them).
    `{{char}}` (the card's nickname, else the name) and `{{user}}` are replaced throughout.
    A character without card fields or lorebook gets the prompt it always had.
    """
    if character is None:
        return ChatPrompt(ASSISTANT_PROMPT, history_count=len(history))
    card = character.card if isinstance(character.card, dict) else {}
    char = _text(card, "nickname").strip() or character.name
    fired = tuple(
        lorebook_fire(character.character_book, [str(m["content"]) for m in history], char=char)
    )
    default = CHARACTER_PROMPT.format(name=character.name)
    override = _text(card, "system_prompt")
    head = macros(override.replace(ORIGINAL, default), char=char) if override.strip() else ""
    lines = [head or default]
    lines.extend(hit.content for hit in fired if hit.position == "before_char")
    lines.append(f"Character: {character.name}")
    for label, value in (
        ("Description", character.description),
        ("Personality", _text(card, "personality")),
        ("Scenario", _text(card, "scenario")),
    ):
        if value.strip():
            lines.append(f"{label}: {' '.join(macros(value, char=char).split())}")
    if character.tags:
        lines.append(f"Tags: {', '.join(str(tag) for tag in character.tags)}")
    lines.extend(hit.content for hit in fired if hit.position == "after_char")
    examples = _text(card, "mes_example").strip()
    if examples:
        lines.append(f"Example dialogue:\n{macros(examples, char=char)}")
    if state:
        lines.append("State: " + "; ".join(f"{key}: {value}" for key, value in state.items()))
    post = macros(_text(card, "post_history_instructions").replace(ORIGINAL, ""), char=char)
    return ChatPrompt("\n".join(lines), post.strip() or None, fired, len(history))


def _text(card: dict, field: str) -> str:
    value = card.get(field)
    return value if isinstance(value, str) else ""


def character_system_prompt(character: Character | None, state: dict) -> str:
    """The system prompt of a chat with no history yet (`chat_prompt`'s first part)."""
    return chat_prompt(character, state, []).system_prompt


def prompt_record(sent: SentPrompt, prompt: ChatPrompt) -> dict:
    """What a reply keeps of its prompt (`Message.prompt`), after SillyTavern's prompt
    itemisation: the model and provider, the messages exactly as sent, the lorebook entries
    that fired and on which key, and estimated tokens per part
    (`ai.engine.estimate_tokens`)."""
    messages = [{"role": m["role"], "content": m["content"]} for m in sent.messages]
    has_post = prompt.post_history is not None and len(messages) > 1
    history = messages[1 : len(messages) - 1 if has_post else len(messages)]
    tokens = {
        "system": estimate_tokens(messages[0]["content"]) if messages else 0,
        "lorebook": sum(hit.tokens for hit in prompt.lorebook),
        "history": sum(estimate_tokens(m["content"]) for m in history),
        "postHistory": estimate_tokens(messages[-1]["content"]) if has_post else 0,
    }
    tokens["total"] = tokens["system"] + tokens["history"] + tokens["postHistory"]
    return {
        "model": sent.model,
        "provider": sent.provider,
        "messages": messages,
        "lorebook": [hit.record() for hit in prompt.lorebook],
        "tokens": tokens,
        "history": {"sent": len(history), "dropped": max(0, prompt.history_count - len(history))},
    }


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
