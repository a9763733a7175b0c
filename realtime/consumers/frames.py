"""An event's frame rendered once per process, however many of its sockets hear it.

A broadcast reaches every socket of a session, and each socket's consumer handles the event
on its own (the channel layer hands each a copy). The frame is the same for all of them, and
rendering it may load what the event names (one query: events carry ids, not contents). So
the first consumer of the process to handle an event renders it, and the others wait for and
share that text: one render and one load per event and process, not per socket. Events are
told apart by the `event_id` realtime.events gives each one; an event without one (sent by
hand) is rendered for each socket.

A render that loads starts at once, in the handler of the first socket to ask
(`asyncio.eager_task_factory`): as a plain task it waited behind every other socket's
handler of the same event before its query even left (measured with 100 `stream=1`
sockets: the query began 0.6-1.6 ms after the first handler ran, bench/README.md). Once
done, the text replaces the task in the cache, so sockets that come later take it with no
wait.
"""

from __future__ import annotations

import asyncio
import functools
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
        if inspect.iscoroutine(kept):
            # Its first step runs now: the load is under way before this handler yields.
            kept = asyncio.eager_task_factory(loop, kept)
        elif inspect.isawaitable(kept):
            kept = asyncio.ensure_future(kept)
        frames[key] = kept
        if not isinstance(kept, str):
            if kept.done():  # rendered within that first step
                _keep_text(frames, key, kept)
                kept = frames.get(key, kept)
            else:
                kept.add_done_callback(functools.partial(_keep_text, frames, key))
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


def _keep_text(frames: OrderedDict, key: tuple, done: asyncio.Future) -> None:
    """A finished render's text takes its task's place in the cache (a failed one is left
    for `frame_once` to drop)."""
    if frames.get(key) is done and not done.cancelled() and done.exception() is None:
        frames[key] = done.result()
