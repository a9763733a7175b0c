"""Family A's reply stream as a plain SSE client reads it from a real server (tests/live.py,
a real socket): the headers, the parts in the AI SDK's order, `[DONE]`, and the stored reply
under the announced id. Read with tests/sse.py, which other stream tests can use the same way."""

from __future__ import annotations

import json

import pytest

from tests.sse import read_sse

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_reply_streams_as_ui_message_parts(live_http):
    created = live_http.post("/api/chats", json={"prompt": "A stormy night"})
    assert created.status_code == 201, created.text
    chat_id = created.json()["id"]

    stream = read_sse(
        live_http,
        "POST",
        f"/api/chats/{chat_id}",
        json={"messages": [{"role": "user", "content": "Light the lamp"}]},
    )

    assert stream.status_code == 200, stream.lines
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert "no-cache" in stream.headers["cache-control"]
    assert stream.headers["x-accel-buffering"] == "no"
    assert stream.done, stream.lines[-5:]
    for event, data in stream.events[:-1]:
        assert json.loads(data)["type"] == event
    types = stream.types()
    assert types[0] == "start" and types[-1] == "finish", types
    assert types.index("text-start") < types.index("text-delta") < types.index("text-end")
    assert "error" not in types
    reply_id = stream.parts()[0]["messageId"]
    assert "[offline provider]" in stream.text()

    messages = live_http.get(f"/api/chats/{chat_id}").json()["messages"]
    replies = [m for m in messages if m["role"] == "assistant"]
    assert [(m["id"], m["content"]) for m in replies] == [(reply_id, stream.text())]


def test_nothing_in_flight_is_204(live_http):
    created = live_http.post("/api/chats", json={"prompt": "Quiet"})
    chat_id = created.json()["id"]
    assert live_http.get(f"/api/chats/{chat_id}/stream").status_code == 204
