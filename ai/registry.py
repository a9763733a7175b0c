"""The one turn registry: which conversation has a turn running, here or in another process.

Every family asks it the same three questions, by the conversation's key (`chat.<id>`,
`game.<uuid>`, `project-session.<id>`):

- **busy**: `claim(key)` takes the conversation for the running turn, atomically in this
  process and, with Redis, across processes (`SET NX` on the turn's "live" key, refreshed by
  every event the turn logs, so a process that dies frees the conversation after
  `CHAT_REPLAY_TTL`); `busy(key)` only looks (`busy_here(key)`: in this process only).
- **resume**: `find(key)` is the turn of this process; else `replay.read(key)` follows its
  events from the Redis log another process writes.
- **stop**: `stop(key)` stops the turn here, or asks the process that runs it (a "stop" key
  that process reads each time it logs events).

A family whose conversation takes one turn at a time calls `claim` from its `prepare` hook,
in the turn's own short transaction and after its own access checks, and answers its own
"busy" error when the claim fails; the engine releases the claim when the turn ends. Turns
that are not claimed (family G's, where `AI_TURNS_PER_CONVERSATION` bounds them per process)
are known in this process only. Without Redis (the embedded mode, one process) everything is
in this process.
"""

from __future__ import annotations

import logging
import threading
import weakref
from contextvars import ContextVar
from typing import TYPE_CHECKING

from django.conf import settings

from ai import replay

if TYPE_CHECKING:
    from ai.engine import Turn

logger = logging.getLogger("ai.registry")

# The turn whose task (or a thread it handed work to) is running: what `claim` binds to. A weak
# reference: a context copied from the turn's (a task's, a thread call's) may outlive the turn,
# held by a dependency's reference cycle, and must not keep the turn and its events alive.
current_turn: ContextVar[weakref.ref[Turn] | None] = ContextVar("ai_current_turn", default=None)

_lock = threading.Lock()
_running: set[Turn] = set()
_by_key: dict[str, Turn] = {}  # the newest running turn of each conversation
_claimed: dict[str, Turn | None] = {}  # conversations taken by `claim`, and by which turn


def add(turn: Turn) -> None:
    """The engine registers a turn as it starts (it is the newest of its key)."""
    with _lock:
        _running.add(turn)
        _by_key[turn.key] = turn


def remove(turn: Turn) -> None:
    """The engine forgets a turn that ended, and frees its claim in this process."""
    with _lock:
        _running.discard(turn)
        if _by_key.get(turn.key) is turn:
            others = [t for t in _running if t.key == turn.key]
            if others:
                _by_key[turn.key] = others[-1]
            else:
                del _by_key[turn.key]
        if turn.claimed and _claimed.get(turn.key) is turn:
            del _claimed[turn.key]


def claim(key: str) -> bool:
    """Take `key` for the current turn; False when a turn holds it (here or elsewhere).

    Call it from a turn's `prepare` (sync or async); the turn then answers to `key` for
    `find`, `busy` and `stop`, and logs its events under it.
    """
    turn = running_turn()
    if turn is None:
        raise RuntimeError("claim() belongs in a turn's prepare hook")
    with _lock:
        if key in _claimed:
            return False
        _claimed[key] = None
    if not replay.claim(key):
        with _lock:
            del _claimed[key]
        return False
    with _lock:
        if _by_key.get(turn.key) is turn:
            del _by_key[turn.key]
        turn.key = key
        turn.claimed = True
        _claimed[key] = turn
        _by_key[key] = turn
    return True


def running_turn() -> Turn | None:
    """The turn whose task (or a thread it handed work to) runs this code, if any."""
    ref = current_turn.get()
    return ref() if ref is not None else None


def find(key: str) -> Turn | None:
    """The running turn of a conversation in this process, if any: the one that claimed it,
    else the newest."""
    turn = _claimed.get(key) or _by_key.get(key)
    return turn if turn is not None and not turn.finished else None


def count(key: str) -> int:
    """How many turns of this conversation run in this process."""
    with _lock:
        return sum(1 for turn in _running if turn.key == key)


def busy_here(key: str) -> bool:
    """Whether a turn of this conversation runs in this process (no round trip)."""
    return key in _claimed or find(key) is not None


async def busy(key: str) -> bool:
    """Whether a turn of this conversation runs here or, with Redis, in any process."""
    return busy_here(key) or await replay.live(key)


async def stop(key: str) -> bool:
    """Stop the conversation's turn: here at once, elsewhere through Redis. What was
    generated is stored, marked as stopped. False when no turn runs."""
    turn = find(key)
    if turn is not None:
        return turn.stop()
    return await replay.request_stop(key)


def running() -> list[Turn]:
    """The turns running in this process."""
    with _lock:
        return list(_running)


def running_count() -> int:
    """How many turns run in this process."""
    return len(_running)


def keys_count() -> int:
    """How many conversations this process knows a turn of (tests check nothing is kept)."""
    return len(_by_key) + len(_claimed)


def uses_redis() -> bool:
    """Whether the registry reaches other processes (REDIS_URL is set)."""
    return bool(settings.REDIS_URL)
