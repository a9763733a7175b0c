"""How a streamed reply's request is let in (`POST /api/chats/{id}`), before its turn starts:
the start gate and the body.

- **The gate.** Streamed replies that may be starting at once in a process (their identity,
  chat and prepare steps: thread hops of ORM work). Fifty starts at once put fifty threads in
  the queue for the GIL, and the event loop, which relays the tokens of every live stream,
  waited behind them (bench/sse_relay.py); past this many, a start waits its turn on the loop.
- **The body.** A well-formed body is read on the loop by `stream_input_quick`, in time
  linear in the body; anything else goes to DRF (`ChatStreamInput`) on the request's thread,
  which words the error. Either way an unknown chat, or another's, is answered as such
  before its body is (the turn's prepare step checks the chat of a body that passes).
"""

from __future__ import annotations

import asyncio
import weakref
from functools import partial

from asgiref.sync import sync_to_async

from chats import selectors
from chats.ai_serializers import ChatStreamInput, stream_input_quick
from chats.identity import Identity
from chats.serializers import chat_input
from core import db_batch

STREAM_STARTS_AT_ONCE = 2
_start_gates: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def start_gate() -> asyncio.Semaphore:
    """The gate of this event loop (a semaphore belongs to the loop that first waits on it)."""
    loop = asyncio.get_running_loop()
    gate = _start_gates.get(loop)
    if gate is None:
        gate = _start_gates[loop] = asyncio.Semaphore(STREAM_STARTS_AT_ONCE)
    return gate


async def stream_body(request, identity: Identity, chat_id: str) -> dict:
    """The request's validated body (`ChatStreamInput`), or its 400 after the chat's own
    404/401."""
    try:
        data = stream_input_quick(request.data)
    except Exception:  # the body does not parse
        await _chat_check(identity, chat_id)
        raise
    if data is None:
        await _chat_check(identity, chat_id)
        data = await sync_to_async(chat_input)(ChatStreamInput, request, prefix="Invalid messages")
    return data


async def _chat_check(identity: Identity, chat_id: str) -> None:
    await db_batch.run(partial(selectors.chat_get_for, identity, chat_id))
