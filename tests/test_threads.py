"""Requests' sync code on reused threads (core/threads.py), through asgiref's public
`ThreadSensitiveContext(executor=…)`: one thread per request in flight, the same thread again
for the next request, and a thread still busy with a cancelled call not handed out."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from core import threads


def _app(results: list, *, hold: float = 0.0):
    """An ASGI app whose one sync call records the thread it ran on (twice, to show that a
    request's calls share a thread)."""

    def where() -> int:
        time.sleep(hold)
        return threading.get_ident()

    async def app(scope, receive, send):
        first = await sync_to_async(where)()
        second = await sync_to_async(where)()
        results.append((first, second))

    return threads.ReusedThreads(app)


def _call(app) -> asyncio.Future:
    return app({"type": "http"}, None, None)


@override_settings(ASGI_REUSE_THREADS=True)
def test_requests_one_after_another_reuse_one_thread():
    results: list = []
    app = _app(results)

    async def run():
        for _ in range(5):
            await _call(app)

    asyncio.run(run())
    assert len(results) == 5
    assert all(first == second for first, second in results)
    assert len({first for first, _ in results}) == 1
    assert results[0][0] != threading.get_ident()


@override_settings(ASGI_REUSE_THREADS=True)
def test_requests_at_the_same_time_each_have_their_own_thread():
    results: list = []
    app = _app(results, hold=0.05)

    async def run():
        await asyncio.gather(*(_call(app) for _ in range(4)))

    asyncio.run(run())
    assert all(first == second for first, second in results)
    assert len({first for first, _ in results}) == 4


@override_settings(ASGI_REUSE_THREADS=True)
def test_a_thread_busy_with_a_cancelled_call_is_not_handed_out():
    started = threading.Event()
    release = threading.Event()
    busy: list[int] = []

    def slow() -> None:
        busy.append(threading.get_ident())
        started.set()
        release.wait(5)

    async def slow_app(scope, receive, send):
        await sync_to_async(slow)()

    results: list = []
    fast = _app(results)

    async def run():
        task = asyncio.ensure_future(_call(threads.ReusedThreads(slow_app)))
        await asyncio.to_thread(started.wait, 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await _call(fast)  # the slow call still runs: this request gets another thread
        idle = threads.idle_count()
        release.set()
        for _ in range(500):  # the released thread is given back once its call returns
            if threads.idle_count() > idle:
                break
            await asyncio.sleep(0.01)
        await _call(fast)  # the thread given back last is handed out first

    asyncio.run(run())
    assert results[0][0] != busy[0]
    assert results[1][0] == busy[0]


@override_settings(ASGI_REUSE_THREADS=False)
def test_switched_off_each_request_gets_djangos_own_thread_context():
    results: list = []
    app = _app(results)

    async def run():
        for _ in range(2):
            await _call(app)

    idle = threads.idle_count()
    asyncio.run(run())
    # No reused thread was taken: asgiref's own thread-sensitive executor served both.
    assert threads.idle_count() == idle
    assert all(first == second for first, second in results)
