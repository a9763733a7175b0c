"""A turn's events, typed: one frozen dataclass per kind, in the order a turn may produce them.

`started` → (`reasoning` | `delta`)* → `saved` → (`state` | `choices` | `error`)* → `done`, or
`started` → … → `error` → `done` when the turn fails. `done` is always the last event of a turn
that started. Transports (SSE parts, socket frames, JSON) render these; `to_json`/`from_json`
carry them through the Redis replay log, so a resumed stream on another process reads the same
types.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

STARTED = "started"
DELTA = "delta"
REASONING = "reasoning"
SAVED = "saved"
ERROR = "error"
STATE = "state"
CHOICES = "choices"
DONE = "done"


@dataclass(frozen=True, slots=True)
class TurnEvent:
    """What every event shares: its `kind`, the name transports and the replay log use."""

    kind: ClassVar[str] = ""


@dataclass(frozen=True, slots=True)
class Started(TurnEvent):
    """The reply's id is allocated: a stream can name the message that will hold it."""

    kind: ClassVar[str] = STARTED
    reply_id: str


@dataclass(frozen=True, slots=True)
class Delta(TurnEvent):
    """A piece of the reply's text."""

    kind: ClassVar[str] = DELTA
    text: str


@dataclass(frozen=True, slots=True)
class Reasoning(TurnEvent):
    """A piece of the model's reasoning (shown apart from the reply, never stored with it)."""

    kind: ClassVar[str] = REASONING
    text: str


@dataclass(frozen=True, slots=True)
class Saved(TurnEvent):
    """The reply is stored (`message` is the family's row; None when stopped before any text).

    Only `reply_id` and `stopped` travel through the replay log: a row is not JSON.
    """

    kind: ClassVar[str] = SAVED
    reply_id: str
    stopped: bool
    message: Any = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Error(TurnEvent):
    """The turn failed (`stage` None), or only a step after the stored reply did (`"state"`)."""

    kind: ClassVar[str] = ERROR
    code: str
    message: str
    stage: str | None = None


@dataclass(frozen=True, slots=True)
class State(TurnEvent):
    """The conversation's state after the reply (family C's scene state)."""

    kind: ClassVar[str] = STATE
    state: dict


@dataclass(frozen=True, slots=True)
class Choices(TurnEvent):
    """The choices offered after the reply, and the step they lead to (family M)."""

    kind: ClassVar[str] = CHOICES
    choices: list
    next_step: str | None = None


@dataclass(frozen=True, slots=True)
class Done(TurnEvent):
    """The turn has ended; nothing follows."""

    kind: ClassVar[str] = DONE


_BY_KIND: dict[str, type[TurnEvent]] = {
    cls.kind: cls for cls in (Started, Delta, Reasoning, Saved, Error, State, Choices, Done)
}


def to_json(event: TurnEvent) -> str:
    """The event as JSON: its kind and its fields (a stored row is left out)."""
    data = {f.name: getattr(event, f.name) for f in fields(event)}
    if isinstance(event, Saved):
        del data["message"]
    return json.dumps({"kind": event.kind, **data}, ensure_ascii=False, default=str)


def from_json(text: str | bytes) -> TurnEvent:
    """The event `to_json` wrote."""
    data = json.loads(text)
    return _BY_KIND[data.pop("kind")](**data)
