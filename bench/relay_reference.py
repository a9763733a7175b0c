"""The reference relay of the SSE benchmark: the least a relay can do with the same parts.

A plain ASGI application (no Django, no framework) that reads the request's JSON
`{"messages": [...]}`, calls the upstream named by `RELAY_UPSTREAM` (an OpenAI-compatible base
URL) through the same client the project uses (`openai.AsyncOpenAI`, one per event loop, no
retries), and relays each content delta as one AI SDK UI-message-stream part (`event:` and
`data:` lines, as `chats/sse.py` writes them), ending with `data: [DONE]`. Headers go out before
the upstream call, as the project's do. Served by the same server software as the project:

    RELAY_UPSTREAM=http://127.0.0.1:8101/v1 python -m daphne -b 127.0.0.1 -p 8102 \
        bench.relay_reference:application
"""

from __future__ import annotations

import json
import os

import openai

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]
_clients: dict = {}


def part(kind: str, **fields) -> bytes:
    payload = json.dumps({"type": kind, **fields}, ensure_ascii=False, separators=(",", ":"))
    return f"event: {kind}\ndata: {payload}\n\n".encode()


def _client() -> openai.AsyncOpenAI:
    import asyncio

    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = openai.AsyncOpenAI(
            base_url=os.environ["RELAY_UPSTREAM"], api_key="relay-bench", max_retries=0
        )
        _clients[loop] = client
    return client


async def application(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["method"] != "POST":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"running"})
        return
    messages = json.loads(body or b"{}").get("messages") or []
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send(
        {
            "type": "http.response.body",
            "body": part("start", messageId="msg-ref") + part("text-start", id="text-1"),
            "more_body": True,
        }
    )
    stream = await _client().chat.completions.create(
        model="relay-bench", messages=messages, stream=True
    )
    try:
        async for chunk in stream:
            if not chunk.choices:
                continue
            delta = chunk.choices[0].delta.content
            if delta:
                await send(
                    {
                        "type": "http.response.body",
                        "body": part("text-delta", id="text-1", delta=delta),
                        "more_body": True,
                    }
                )
    finally:
        await stream.close()
    await send(
        {
            "type": "http.response.body",
            "body": part("text-end", id="text-1") + part("finish") + b"data: [DONE]\n\n",
        }
    )
