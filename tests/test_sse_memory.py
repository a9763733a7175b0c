"""Streamed replies leave nothing behind (issue 10, SSE relay: resident memory over 10,000
streams). Family A's `POST /api/chats/{id}` streams through the served application and the
real SDK path (the fake OpenAI server), many times over; afterwards everything a stream holds
is gone: the engine's registries are empty, no turn, event, response or upstream stream
object is alive, no thread executor is left behind, and the live objects
did not grow with the number of streams.

bench/sse_relay.py measures the same in a served process (`--probe-memory`), with RSS."""

from __future__ import annotations

import asyncio
import gc
import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import httpx2
import pytest
from django.http import StreamingHttpResponse

from ai import engine, registry
from config.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "http://testserver"
TIMEOUT = 10
WARM_UP = 60  # long enough for the idle thread pool and bounded caches to fill
STREAMS = 60
AT_ONCE = 4
# What one stream makes and must not keep: a leak of any of them fails by its own name.
PER_STREAM = (
    engine.Turn,
    engine.TurnEvent,
    StreamingHttpResponse,
    httpx2.Response,
)


@pytest.fixture
async def http():
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url=BASE, timeout=TIMEOUT
    ) as client:
        yield client


async def _stream(http: httpx.AsyncClient) -> None:
    created = await http.post("/api/chats", json={"prompt": "Hello"})
    assert created.status_code == 201, created.text
    response = await http.post(
        f"/api/chats/{created.json()['id']}",
        json={"messages": [{"role": "user", "content": "Tell me more"}]},
        headers={"Accept": "text/event-stream"},
    )
    assert response.status_code == 200, response.text
    data = [line[6:] for line in response.text.split("\n") if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    kinds = [json.loads(item)["type"] for item in data[:-1]]
    assert "text-delta" in kinds and kinds[-1] == "finish", kinds


async def _streams(http: httpx.AsyncClient, count: int) -> None:
    for start in range(0, count, AT_ONCE):
        await asyncio.gather(*(_stream(http) for _ in range(min(AT_ONCE, count - start))))


def _live() -> dict:
    """What is alive after a full collection: counts by type, and the process's registries."""
    gc.collect()
    objects = gc.get_objects()
    types = Counter(type(o) for o in objects)
    return {
        "objects": len(objects),
        "per_stream": {
            t.__name__: sum(n for k, n in types.items() if issubclass(k, t)) for t in PER_STREAM
        },
        "tasks": len(asyncio.all_tasks()),
        "executors": types[ThreadPoolExecutor],
        "running": registry.running_count(),
        "by_key": registry.keys_count(),
    }


def _turns() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is engine.Turn)


async def _settled(baseline: int) -> None:
    """Wait (a bounded poll) until the last turns' tasks have ended: a client reads `[DONE]`
    as the turn announces its end, and the turn's task returns a moment later. A turn kept
    for good would stay past the poll, and fail below by name. `baseline`: the turns alive
    before this test's streams (another test's, which this one does not judge)."""
    for _ in range(100):
        if _turns() <= baseline:
            return
        await asyncio.sleep(0.02)


async def test_many_streamed_replies_leave_no_state_behind(unlimited_turns, http):
    await _streams(http, WARM_UP)  # imports, caches, the client's pool, the idle threads
    unlimited_turns.requests.clear()  # the fake server's record of each request is the test's own
    await _settled(0)
    # 0 unless an earlier test still holds a turn of its own: this test judges its streams
    # against what was alive before them.
    baseline = _turns()
    before = _live()

    await _streams(http, STREAMS)
    assert len(unlimited_turns.requests_to("chat")) == STREAMS
    unlimited_turns.requests.clear()
    await _settled(baseline)
    middle = _live()
    await _streams(http, STREAMS)
    unlimited_turns.requests.clear()
    await _settled(baseline)
    after = _live()

    left = (after["running"] - before["running"], after["by_key"] - before["by_key"])
    assert max(left) <= 0, (before, after)
    kept = {
        name: after["per_stream"][name] - before["per_stream"][name]
        for name in before["per_stream"]
    }
    # None more than before (fewer, if an earlier test's turn was let go meanwhile).
    assert all(count <= 0 for count in kept.values()), (before["per_stream"], after["per_stream"])
    assert after["tasks"] <= before["tasks"]
    assert after["executors"] <= before["executors"]
    # A stream that left even one object behind would leave STREAMS of them in each batch;
    # what is made once (a cache filling, an earlier test's garbage) shows in one batch only.
    growth = (middle["objects"] - before["objects"], after["objects"] - middle["objects"])
    assert min(growth) < STREAMS, (growth, before, middle, after)
