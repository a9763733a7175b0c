"""The streamed reply's relay path (issue 10, SSE relay): the provider's own SSE reading, the
transport reading a turn's event list directly, the start gate, and SSE clients that accept
only `text/event-stream`."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from ai import engine, events
from ai.providers.openai_compat import sse_data
from chats import sse, stream_admission
from config.asgi import application

BASE = "http://testserver"
TIMEOUT = 10


async def _chunks(*pieces: bytes):
    for piece in pieces:
        yield piece


async def _data(*pieces: bytes) -> list[bytes]:
    return [item async for item in sse_data(_chunks(*pieces))]


async def test_sse_data_splits_events_across_reads_and_skips_other_fields():
    events = await _data(
        b': comment\n\nevent: chunk\nid: 1\ndata: {"a"',
        b": 1}\n\nda",
        b"ta: [DONE]\n\n",
    )
    assert events == [b'{"a": 1}', b"[DONE]"]


async def test_sse_data_joins_data_lines_reads_crlf_and_a_last_event_without_blank_line():
    events = await _data(b"data: one\r\ndata:two\r\n\r\n", b"data: last")
    assert events == [b"one\ntwo", b"last"]


class _Hooks(engine.BaseHooks):
    task = "dialogue"


async def _turn() -> engine.Turn:
    """A turn whose events the test emits itself (nothing calls the model)."""
    return engine.Turn(key="test.relay", hooks=_Hooks())


async def test_turn_parts_writes_the_events_ready_together_in_one_chunk_each_its_own_part(
    settings,
):
    settings.SSE_KEEP_ALIVE_SECONDS = 0.05
    turn = await _turn()
    await turn.emit(events.Started("msg-1"))
    await turn.emit(events.Delta("Hel"))
    await turn.emit(events.Delta("lo"))
    body = sse.turn_parts(turn)

    first = await anext(body)
    assert first == (
        sse.part("start", messageId="msg-1")
        + sse.part("text-start", id="text-1")
        + sse.part("text-delta", id="text-1", delta="Hel")
        + sse.part("text-delta", id="text-1", delta="lo")
    )
    # Nothing new: a keep-alive comment, then the next event as soon as it comes.
    assert await asyncio.wait_for(anext(body), TIMEOUT) == sse.KEEP_ALIVE
    reader = asyncio.ensure_future(anext(body))
    await asyncio.sleep(0)
    await turn.emit(events.Delta("!"))
    assert await asyncio.wait_for(reader, TIMEOUT) == sse.part("text-delta", id="text-1", delta="!")
    await turn.emit(events.Saved("msg-1", stopped=False))
    await turn.emit(events.Done())
    turn.finished = True
    last = await asyncio.wait_for(anext(body), TIMEOUT)
    assert last == sse.part("text-end", id="text-1") + sse.part("finish") + sse.END
    with pytest.raises(StopAsyncIteration):
        await anext(body)


async def test_turn_parts_of_a_turn_that_ended_without_done_says_it_was_interrupted():
    turn = await _turn()
    await turn.emit(events.Started("msg-2"))
    turn.finished = True
    body = b"".join([chunk async for chunk in sse.turn_parts(turn)])
    assert body.endswith(
        sse.part("error", errorText="The reply was interrupted; please retry") + sse.END
    )


async def test_the_stream_start_gate_is_one_semaphore_per_event_loop():
    gate = stream_admission.start_gate()
    assert gate is stream_admission.start_gate()
    for _ in range(stream_admission.STREAM_STARTS_AT_ONCE):
        assert not gate.locked()
        await gate.acquire()
    assert gate.locked()
    for _ in range(stream_admission.STREAM_STARTS_AT_ONCE):
        gate.release()


@pytest.fixture
async def http():
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url=BASE, timeout=TIMEOUT
    ) as client:
        yield client


def _parts(body: str) -> list[dict | str]:
    parts = []
    for block in body.split("\n\n"):
        for line in block.split("\n"):
            if line.startswith("data: "):
                data = line[len("data: ") :]
                parts.append(data if data == "[DONE]" else json.loads(data))
    return parts


@pytest.mark.django_db(transaction=True)
async def test_a_client_accepting_only_event_streams_gets_the_stream_not_406(http):
    created = await http.post("/api/chats", json={"prompt": "Hello"})
    assert created.status_code == 201, created.text
    chat_id = created.json()["id"]
    accept = {"Accept": "text/event-stream"}

    response = await http.post(
        f"/api/chats/{chat_id}",
        json={"messages": [{"role": "user", "content": "Tell me more"}]},
        headers=accept,
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    parts = _parts(response.text)
    assert parts[0]["type"] == "start" and parts[-1] == "[DONE]"
    assert any(p["type"] == "text-delta" for p in parts[:-1])
    # Nothing in flight any more: the resume route answers 204, not 406.
    resumed = await http.get(f"/api/chats/{chat_id}/stream", headers=accept)
    assert resumed.status_code == 204


@pytest.mark.django_db(transaction=True)
async def test_an_event_stream_client_gets_a_json_error_body_when_the_turn_cannot_start(http):
    response = await http.post(
        "/api/chats/00000000-0000-0000-0000-000000000000",
        json={"messages": [{"role": "user", "content": "Hi"}]},
        headers={"Accept": "text/event-stream"},
    )

    # No identity yet: A's JSON error body, whatever the client accepts.
    assert response.status_code == 401, response.text
    assert response.json() == {"statusCode": 401, "statusMessage": "Unauthorized"}


@pytest.mark.django_db(transaction=True)
async def test_other_unacceptable_types_are_still_406(http):
    response = await http.post(
        "/api/chats/00000000-0000-0000-0000-000000000000",
        json={"messages": [{"role": "user", "content": "Hi"}]},
        headers={"Accept": "image/png"},
    )

    assert response.status_code == 406
