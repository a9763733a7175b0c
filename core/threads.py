"""Threads reused for thread-sensitive sync code, through asgiref's public
`ThreadSensitiveContext(executor=…)`.

Django's ASGI handler enters a `ThreadSensitiveContext()` per request, and asgiref then starts
a thread for the request's sync code (the ORM, sync views, sync middleware) and, when the
request ends, a second thread that joins it. Two thread starts per request cost more than many
a whole request (bench/README.md). asgiref documents the other way: a context given an
executor that runs one call at a time sends that block's thread-sensitive calls to it, and the
caller owns the executor, so it can be used again. Django's own context inside such a block is
not the outermost one, so it adds nothing.

`reused_thread()` is that block, around an executor of one worker taken from a free list and
given back at the end. One block's sync calls still run one at a time on one thread, as
Django requires; blocks running at the same time each have their own; only an idle thread is
shared, in turn, as a WSGI server's threads are. asgiref asks that tasks created inside a
block finish before it exits: a task that outlives its request (an AI turn) enters a block of
its own first (`ai.engine`).

`ASGI_REUSE_THREADS` (default on) switches it; off, Django's per-request threads serve as
stock. The in-process test client turns it off: it runs the application from the test's own
thread so that thread-sensitive calls reach the test's transaction, which a reused thread
would not see.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext
from django.conf import settings

# Idle threads kept for reuse; one beyond this is let go when its block ends. A block at a
# time per request or turn in flight, so this is about the concurrency a process expects.
IDLE_KEPT = 64

_idle: collections.deque[ThreadPoolExecutor] = collections.deque()


def _take() -> ThreadPoolExecutor:
    try:
        return _idle.pop()
    except IndexError:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync")


def _give(executor: ThreadPoolExecutor) -> None:
    if len(_idle) < IDLE_KEPT:
        _idle.append(executor)
    else:
        executor.shutdown(wait=False)


def idle_count() -> int:
    """Threads waiting for their next block (tests and metrics)."""
    return len(_idle)


@contextlib.asynccontextmanager
async def reused_thread() -> AsyncIterator[None]:
    """Run the block's thread-sensitive sync calls on a reused thread of their own."""
    if not settings.ASGI_REUSE_THREADS:
        yield
        return
    executor = _take()
    try:
        async with ThreadSensitiveContext(executor=executor):
            yield
    except BaseException:
        # A cancelled await (a client gone mid-request) leaves its sync call running: the
        # thread is idle again only once a no-op queued behind that call has run.
        executor.submit(_noop).add_done_callback(lambda _: _give(executor))
        raise
    _give(executor)


def _noop() -> None:
    pass


class ReusedThreads:
    """Plain ASGI middleware (ARCHITECTURE.md rule 13): each HTTP request in `reused_thread()`."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        async with reused_thread():
            return await self.app(scope, receive, send)
