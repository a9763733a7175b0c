"""A character's cached opening line (family C): the prompt, the model call, and the one rule
that says when a changed character needs a new line.

The line is what the character says first when a chat with it begins, so chats can start
without a model call. It is generated before anything is written: a failed generation leaves
the database as it was.
"""

from __future__ import annotations

import unicodedata

from ai import client as ai
from ai.errors import AIServiceError, AIUnavailable
from ai.types import ChatMessage
from characters.errors import OpeningLineFailed, OpeningLineUnavailable

TASK = "opening_line"
SYSTEM_PROMPT = (
    "You are the character described below, in an interactive story chat. Write the very "
    "first thing you say when a user opens a chat with you: one to three sentences, spoken in "
    "the first person, in your own voice and manner, in the language of your description. "
    "Answer with the line itself only: no quotation marks, no name label, no narration or "
    "stage directions, no explanation."
)
USER_PROMPT = "Say your opening line."
NOT_SAVED = "The opening line could not be generated, so nothing was saved."
# Letters (L), combining marks (M) and numbers (N) carry meaning; the rest is formatting.
_MATERIAL_CATEGORIES = frozenset("LMN")
_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "\u300c": "\u300d"}


def material_text(text: str) -> str:
    """The part of a text that changes what the opening line should say.

    NFKC-normalise (full-width forms become plain ones), casefold, and keep only letters,
    combining marks and digits: case, whitespace, punctuation, symbols and emoji are
    formatting. "A quiet archivist." and "a  quiet, archivist" have the same material text.
    """
    normal = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in normal if unicodedata.category(ch)[0] in _MATERIAL_CATEGORIES)


def opening_line_is_stale(
    *,
    old_name: str,
    old_description: str,
    new_name: str,
    new_description: str,
    opening_line: str,
) -> bool:
    """Whether an update needs a new opening line: the character has none yet, or its
    description or its name changed materially (see `material_text`). Tags and sheet fields
    never do: they are hints, the description is the persona."""
    if not opening_line:
        return True
    return material_text(old_description) != material_text(new_description) or (
        material_text(old_name) != material_text(new_name)
    )


def _sentence(text: str) -> str:
    return text.rstrip(". ") + "."


def _one_line(text: str) -> str:
    return " ".join(text.split())


def opening_line_messages(*, name: str, description: str, tags: list[str]) -> list[ChatMessage]:
    """The prompt: instructions plus "Label: value" lines of the persona."""
    lines = [SYSTEM_PROMPT, "Task: opening line", f"Character: {_one_line(name)}"]
    if description.strip():
        lines.append(f"Description: {_one_line(description)}")
    if tags:
        lines.append(f"Tags: {', '.join(_one_line(tag) for tag in tags)}")
    return [
        {"role": "system", "content": "\n".join(lines)},
        {"role": "user", "content": USER_PROMPT},
    ]


def clean_opening_line(text: str, *, name: str) -> str:
    """The model's answer without a leading "Name:" label or quotes wrapped around it."""
    line = text.strip()
    label = f"{name.strip()}:"
    if line.casefold().startswith(label.casefold()):
        line = line[len(label) :].strip()
    if len(line) >= 2 and _QUOTES.get(line[0]) == line[-1]:
        line = line[1:-1].strip()
    return line


async def opening_line_generate(
    *, name: str, description: str, tags: list[str], caller: str | None = None
) -> str:
    """The character's opening line from the model (task `opening_line`).

    Raises OpeningLineUnavailable (503, with Retry-After) when the model cannot be reached,
    OpeningLineFailed (502) when it refuses or answers nothing usable, and the limits every
    model call passes (`ai.limits`): TurnsBusy (503 BUSY) past the process's cap,
    RateLimited (429) when `caller` has used up AI_TURN_RATE. Callers write nothing before
    this returns.
    """
    messages = opening_line_messages(name=name, description=description, tags=tags)
    try:
        text = await ai.complete(task=TASK, messages=messages, caller=caller)
    except AIUnavailable as exc:
        raise OpeningLineUnavailable(
            f"{NOT_SAVED} {_sentence(exc.message)}",
            retry_after=exc.retry_after,
        ) from exc
    except AIServiceError as exc:
        raise OpeningLineFailed(f"{NOT_SAVED} {_sentence(exc.message)}") from exc
    line = clean_opening_line(text, name=name)
    if not material_text(line):
        raise OpeningLineFailed(f"{NOT_SAVED} The AI model returned an empty answer.")
    return line
