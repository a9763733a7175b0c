"""Graceful restart: what a serving process does between SIGTERM (or Ctrl+C) and its exit.

uvicorn on SIGTERM (`uvicorn.Server.shutdown`, in this order): closes the listening sockets
(no new connection), asks every open connection to shut down (an HTTP response in progress
finishes and its connection closes after it; a WebSocket is closed at once with 1012
"service restart", and its application receives `websocket.disconnect` 1012), waits up to
`timeout_graceful_shutdown` for the connections to end, cancels what is left, and only then
sends the ASGI `lifespan.shutdown` event. So the lifespan event comes too late to act on, and
an AI reply runs in a task of its own (ai.engine), which uvicorn neither waits for nor
cancels: an SSE stream would hold its connection until the reply ends or the timeout cuts it,
and a cut reply is never stored.

This module adds, on public hooks only:
- `ShutdownAware(app)`, a thin ASGI wrapper that answers the lifespan protocol (uvicorn runs
  with `lifespan="on"`). At `lifespan.startup`, which uvicorn sends inside `Server.serve()`
  after it has installed its own signal handlers, the handlers of SIGTERM and SIGINT are
  chained (`signal.getsignal`, `signal.signal`): ours marks the process as shutting down,
  then calls the server's handler unchanged. It works the same in each `--workers` process.
- `is_shutting_down()`: True from the signal on (for a readiness check: answer 503 so the
  load balancer stops sending work here).
- the grace: replies still running `SHUTDOWN_GRACE_SECONDS` after the signal are stopped
  (`ai.engine.stop_all`): each stores what it has, marked stopped, and its SSE stream ends
  with `finish` and `[DONE]`. uvicorn's own timeout is the grace plus `STORE_MARGIN_SECONDS`
  (`server_timeout()`), time for the stopped replies to be stored and their streams to end.

`config.serve_uvicorn` wraps the application and sets the timeout; it also makes a SIGTERM
end the process with status 0 (uvicorn re-raises the signal once it has shut down).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading

from django.conf import settings

logger = logging.getLogger("config.shutdown")

HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# Seconds the server waits beyond the grace: a stopped reply is stored (one write) and its
# stream's last parts are sent.
STORE_MARGIN_SECONDS = 5.0
POLL_SECONDS = 0.1

_shutting_down = threading.Event()
_tasks: set[asyncio.Task] = set()


def is_shutting_down() -> bool:
    """Whether this process has been asked to stop (SIGTERM or SIGINT under the server)."""
    return _shutting_down.is_set()


def server_timeout() -> float:
    """uvicorn's `timeout_graceful_shutdown` for the grace: past it, what still runs is
    cancelled."""
    return settings.SHUTDOWN_GRACE_SECONDS + STORE_MARGIN_SECONDS


def begin() -> None:
    """Mark the process as shutting down and start the grace of the replies in flight
    (call on the event loop; once is enough, later calls do nothing)."""
    if _shutting_down.is_set():
        return
    _shutting_down.set()
    grace = settings.SHUTDOWN_GRACE_SECONDS
    logger.info("Shutting down: replies in flight have %s s to finish", grace)
    task = asyncio.get_running_loop().create_task(end_replies(grace))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def end_replies(grace: float) -> int:
    """Wait until no reply runs in this process or `grace` seconds have passed; then stop
    those still running (each is stored, marked stopped). Returns how many were stopped."""
    from ai import engine

    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while engine.running_count() and loop.time() < deadline:
        await asyncio.sleep(POLL_SECONDS)
    stopped = engine.stop_all()
    if stopped:
        logger.warning("Grace over: %d reply(ies) stopped and stored as stopped", stopped)
    return stopped


def chain_signal_handlers(loop: asyncio.AbstractEventLoop) -> list[int]:
    """Put our handler in front of the server's for HANDLED_SIGNALS; returns the signals
    chained. Only where the server installed a handler of its own (a callable), and only on
    the main thread (where Python runs signal handlers); the server restores its originals
    when it stops serving, which removes ours with its own."""
    if threading.current_thread() is not threading.main_thread():
        return []
    chained = []
    for signum in HANDLED_SIGNALS:
        previous = signal.getsignal(signum)
        if not callable(previous):
            continue

        def handler(number, frame, previous=previous):
            # The handler runs between two bytecodes of the loop's thread: the loop is told
            # through its thread-safe door, not touched here.
            loop.call_soon_threadsafe(begin)
            previous(number, frame)

        signal.signal(signum, handler)
        chained.append(signum)
    return chained


class ShutdownAware:
    """ASGI wrapper: answers the lifespan protocol (chaining the signal handlers at startup)
    and passes every other scope to the application unchanged."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "lifespan":
            return await self.app(scope, receive, send)
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                chain_signal_handlers(asyncio.get_running_loop())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def exit_cleanly(signum, frame) -> None:
    """A SIGTERM handler for the serving process before and after the server runs: end with
    status 0. (uvicorn restores the handler it found and raises the signal again once it has
    shut down; with the default handler the process would die of the signal, status -15.)"""
    raise SystemExit(0)
