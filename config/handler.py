"""Django's ASGI handler, keeping each request's worker thread for the next request.

Django runs every HTTP request in an asgiref `ThreadSensitiveContext`, so the request's sync
code (sync views, `sync_to_async`, signal receivers) runs on one thread of its own. asgiref
makes that thread when the request first needs it and joins it when the request ends: under
load, starting and joining a thread per request was about a fifth of a simple GET's serving
time (bench/README.md). This handler gives each request the same one-thread executor of its
own, taken from a pool of idle ones and put back when the request ends, so threads are
reused as a WSGI server reuses its threads. Database connections are not tied to threads
(Django keeps them per request context), so nothing else carries over.

It also loads settings.MIDDLEWARE with Django's classes replaced by their hop-free
equivalents (config/middleware.py, FAST_EQUIVALENTS).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from asgiref.sync import SyncToAsync
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler
from django.utils.module_loading import import_string

from config.middleware import FAST_EQUIVALENTS

# More idle threads than this are let go: a burst does not leave a pile of them behind.
MAX_IDLE_THREADS = 64


class RequestExecutor(ThreadPoolExecutor):
    """A one-thread executor that knows whether the work submitted to it is all done.

    Idleness is judged from the futures it handed out, not from the worker's own signals:
    the worker sets a call's result (which is all the event loop waits for) slightly before
    it goes back to waiting for work, so asking the worker could find a finished executor
    still busy, and let it go instead of reusing it."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.unfinished: set[Future] = set()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future = super().submit(fn, *args, **kwargs)
        self.unfinished.add(future)
        # Done: finished by the worker, or cancelled before it started (never to run).
        future.add_done_callback(self.unfinished.discard)
        return future

    def is_idle(self) -> bool:
        """Nothing submitted is running or waiting to run. A request cut short by its client
        can leave a sync call running; such an executor must not serve the next request."""
        return not self.unfinished


class ReusedThreadContext:
    """`ThreadSensitiveContext` (the form without an executor, as Django enters it) with the
    executor borrowed from a pool instead of made and joined each time.

    A task started inside the request that outlives it (an AI turn is shielded from its
    client) finds no executor for the context any more and gets a new one from asgiref, as
    with `ThreadSensitiveContext`; an executor that is not idle is let go, not pooled.
    """

    _idle: list[RequestExecutor] = []
    _exited = False  # read by SyncToAsync; this context never refuses late callers

    def __init__(self) -> None:
        self.token = None
        self.executor: RequestExecutor | None = None

    async def __aenter__(self):
        try:
            SyncToAsync.thread_sensitive_context.get()
        except LookupError:
            self.token = SyncToAsync.thread_sensitive_context.set(self)
            idle = ReusedThreadContext._idle
            self.executor = idle.pop() if idle else RequestExecutor()
            SyncToAsync.context_to_thread_executor[self] = self.executor
        return self

    async def __aexit__(self, exc, value, tb):
        if self.token is None:
            return
        SyncToAsync.context_to_thread_executor.pop(self, None)
        SyncToAsync.thread_sensitive_context.reset(self.token)
        self.token = None
        executor, self.executor = self.executor, None
        idle = ReusedThreadContext._idle
        if executor.is_idle() and len(idle) < MAX_IDLE_THREADS:
            idle.append(executor)
        else:
            # Never join on the event loop: the worker may be waiting on this loop.
            executor.shutdown(wait=False)


def _import_fast_equivalent(path: str):
    return FAST_EQUIVALENTS.get(path) or import_string(path)


class ReusedThreadASGIHandler(ASGIHandler):
    """Django's ASGI handler with request threads reused (ReusedThreadContext) and the
    middleware's hop-free equivalents."""

    def load_middleware(self, is_async=False):
        # Django's own loading, with each middleware path looked up in FAST_EQUIVALENTS
        # first. It runs once, when the handler is made at import time.
        original = base.import_string
        base.import_string = _import_fast_equivalent
        try:
            super().load_middleware(is_async)
        finally:
            base.import_string = original

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        async with ReusedThreadContext():
            await self.handle(scope, receive, send)
