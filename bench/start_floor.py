"""The floor of a stream start under Django: how cheap a family A start could be at best.

Served in the project slot of bench/sse_relay.py with the project's settings and middleware
chain, but `POST /api/chats/{id}` answered by a bare async view instead of the project's:

    --project-env DJANGO_SETTINGS_MODULE=bench.floor_settings --project-env START_FLOOR=relay

`START_FLOOR`:
- `relay`: the reference relay's work (bench/relay_reference.py) in a Django view, behind the
  whole production chain (`settings.MIDDLEWARE`): no identity, no database;
- `durable`: the same, after the user's line is stored (one `INSERT`, committed) as issue 19
  asks before the model is called;
- `asgi`: the reference relay itself, served in the project's process ahead of Django (a
  plain ASGI wrapper): what the process alone costs.
Every other URL is the project's own, so the benchmark's chats are made as usual.
"""

from __future__ import annotations

import json
import os
import uuid

os.environ.setdefault("RELAY_UPSTREAM", os.environ.get("AI_DIALOGUE_BASE_URL", ""))

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from bench import relay_reference
from config.asgi import application as project  # sets Django up: the URLs below need it

MODE = os.environ.get("START_FLOOR", "relay")


def _store(messages: list, chat_id: str) -> None:
    """The user's line, committed, and the request's connection given back to the pool (the
    stream lasts as long as the reply), as the project's chat stream does."""
    from chats.models import Message
    from chats.sse import connections_give_back

    Message.objects.create(
        chat_id=chat_id,
        client_id=f"msg-{uuid.uuid4().hex}",
        role="user",
        content=str(messages[-1].get("content", "")) if messages else "",
    )
    connections_give_back()


async def _parts(messages: list, chat_id: str):
    if MODE == "durable":
        await sync_to_async(_store)(messages, chat_id)
    yield relay_reference.part("start", messageId="msg-floor")
    yield relay_reference.part("text-start", id="text-1")
    stream = await relay_reference._client().chat.completions.create(
        model="relay-bench", messages=messages, stream=True
    )
    try:
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                delta = chunk.choices[0].delta.content
                yield relay_reference.part("text-delta", id="text-1", delta=delta)
    finally:
        await stream.close()
    yield relay_reference.part("text-end", id="text-1") + relay_reference.part("finish")
    yield b"data: [DONE]\n\n"


@csrf_exempt
async def floor_stream(request, chat_id: str):
    messages = json.loads(request.body or b"{}").get("messages") or []
    response = StreamingHttpResponse(_parts(messages, chat_id))
    for name, value in relay_reference.HEADERS:
        response[name.decode()] = value.decode()
    return response


urlpatterns = [
    path("api/chats/<str:chat_id>", floor_stream),
    path("", include("config.urls")),
]


async def application(scope, receive, send):
    if (
        MODE == "asgi"
        and scope["type"] == "http"
        and scope["method"] == "POST"
        and scope["path"].startswith("/api/chats/")
    ):
        return await relay_reference.application(scope, receive, send)
    return await project(scope, receive, send)
