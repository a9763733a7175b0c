"""What an ended task or a failure keeps, let go: a turn's task and its errors must not hold
the turn in a reference cycle that only a full collection frees (tests/test_sse_cycles.py)."""

from __future__ import annotations

import asyncio
import traceback


def retrieved(task: asyncio.Task) -> None:
    """A dropped model call's end, read so that asyncio does not log it as never retrieved."""
    if not task.cancelled():
        task.exception()


def clear_frames(failure: BaseException) -> None:
    """Clear the locals of the ended frames in `failure`'s tracebacks, its cause and context
    too (frames still running are left as they are)."""
    seen: set[int] = set()
    pending = [failure]
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        traceback.clear_frames(error.__traceback__)
        pending += [error.__cause__, error.__context__]
        if isinstance(error, BaseExceptionGroup):
            pending += error.exceptions
