"""An event's frame rendered once per process, however many of its sockets hear it.

A broadcast reaches every socket of a session, and each socket's consumer handles the event
on its own (the channel layer hands each a copy). The frame is the same for all of them, and
rendering it may load what the event names (one query: events carry ids, not contents). So
the first consumer of the process to handle an event renders it, and the others wait for and
share that text: one render and one load per event and process, not per socket. Events are
told apart by the `event_id` realtime.events gives each one; an event without one (sent by
hand) is rendered for each socket.
"""

from __future__ import annotations

import asyncio
import inspect
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable

# Frames kept per event loop: enough for every event a busy process is delivering at once.
KEEP = 512

Render = Callable[[dict], str | Awaitable[str]]

_frames: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, OrderedDict] = (
    weakref.WeakKeyDictionary()
)


async def frame_once(event: dict, render: Render) -> str:
    """The frame `render` makes of `event` (a str, or an awaitable of one), made once per
    event in this process and shared with every socket that asks for the same one."""
    event_id = event.get("event_id")
    if event_id is None:
        text = render(event)
        return await text if inspect.isawaitable(text) else text
    loop = asyncio.get_running_loop()
    frames = _frames.get(loop)
    if frames is None:
        frames = _frames[loop] = OrderedDict()
    key = (render.__module__, render.__qualname__, event_id)
    kept = frames.get(key)
    if kept is None:
        kept = render(event)
        if inspect.isawaitable(kept):
            kept = asyncio.ensure_future(kept)
        frames[key] = kept
        while len(frames) > KEEP:
            frames.popitem(last=False)
    if isinstance(kept, str):
        return kept
    try:
        # shield: one socket's consumer ending must not cancel the render the others share.
        return await asyncio.shield(kept)
    except Exception:
        # A failed render is not kept: the next socket tries again.
        if frames.get(key) is kept:
            del frames[key]
        raise
