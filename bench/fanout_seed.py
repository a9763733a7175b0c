"""Seed the fan-out benchmark: one game with a character and one session per measurement.

Run by bench/fanout.py as `python -m bench.fanout_seed COUNT` with the server's environment,
after `migrate`; prints one JSON object, {"sessions": [...]}. Goes through the API (Django's
test client), as a player would.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

from config.embedded import prepare

prepare()

import django  # noqa: E402

django.setup()

from django.test import Client  # noqa: E402


def main(count: int) -> dict:
    client = Client()
    created = client.post(
        "/api/games/1/characters",
        {"userId": 1, "name": "Fanout", "class": "bard"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    sessions = []
    for _ in range(count):
        answer = client.post(
            "/api/session/start",
            {"gameId": 1, "userId": 1, "characterId": created.json()["id"]},
            content_type="application/json",
        )
        assert answer.status_code == 201, answer.content
        sessions.append(answer.json()["sessionId"])
    return {"sessions": sessions}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1)))
