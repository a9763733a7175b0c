"""Bare Django views: the baseline the serving benchmark compares the API with.

Plain function views doing the same queries as the API routes they shadow (they call the
same selectors and services), with no DRF, no serializers, no throttle and no middleware
(bench/bare_settings.py, served by stock Django's ASGI handler in bench/asgi.py). With
`REDIS_URL` set they also pay for a rate-limit counter the lean way, as production pays for
the API's: one pipelined round trip of `INCR` and `EXPIRE` on one connection pool per process.
Only the benchmark serves them: the project's URLconf and ASGI application never include them.
"""

from __future__ import annotations

import json
import os

from django.http import JsonResponse
from django.urls import path

from characters import selectors as character_selectors
from characters.serializers import CharacterOutput
from core.times import iso_utc
from games import selectors as game_selectors
from games import services as game_services

REDIS_URL = os.environ.get("REDIS_URL", "")
WINDOW_SECONDS = 60

if REDIS_URL:
    import redis

    counter_client = redis.Redis(connection_pool=redis.ConnectionPool.from_url(REDIS_URL))
else:
    counter_client = None


def count(request) -> None:
    """One rate-limit count for the caller, in one round trip (no-op without Redis)."""
    if counter_client is None:
        return
    key = f"bench:bare:{request.META.get('REMOTE_ADDR', '')}"
    with counter_client.pipeline(transaction=False) as pipe:
        pipe.incr(key)
        pipe.expire(key, WINDOW_SECONDS)
        pipe.execute()


def character_detail(request, character_id: int):
    count(request)
    character = character_selectors.character_get(character_id=character_id)
    # CharacterOutput's to_representation is a hand-written dict: the same body as the API.
    return JsonResponse(CharacterOutput().to_representation(character))


def messages(request):
    count(request)
    if request.method == "POST":
        data = json.loads(request.body)
        message = game_services.message_create(
            session_id=data["sessionId"],
            role=data["role"],
            content=data["content"],
            type=data.get("type", ""),
            actor=None,
        )
        return JsonResponse({"id": message.pk}, status=201)
    rows = game_selectors.message_list(session_id=request.GET["sessionId"])
    body = [
        {
            "id": row["id"],
            "role": row["role"],
            "content": row["content"],
            **({"type": row["type"]} if row["type"] else {}),
            "createdAt": iso_utc(row["created_at"]),
        }
        for row in rows
    ]
    return JsonResponse(body, safe=False)


urlpatterns = [
    path("bench/bare/characters/<int:character_id>", character_detail),
    path("bench/bare/messages", messages),
]
