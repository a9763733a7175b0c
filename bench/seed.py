"""Seed the benchmark's database and count each route's queries, API against bare view.

Run by bench/serving.py as `python -m bench.seed` with the server's environment, after
`migrate`; prints one JSON object: the ids the load uses and the query counts.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

from config.embedded import prepare

prepare()

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402

LIST_ROWS = 50


def main() -> dict:
    client = Client()
    created = client.post(
        "/api/games/1/characters",
        {"userId": 1, "name": "Bench", "class": "bard"},
        content_type="application/json",
    ).json()
    character_id = created["id"]

    def start_session() -> str:
        answer = client.post(
            "/api/session/start",
            {"gameId": 1, "userId": 1, "characterId": character_id},
            content_type="application/json",
        )
        return answer.json()["sessionId"]

    list_session, post_session = start_session(), start_session()
    for index in range(LIST_ROWS):
        client.post(
            "/api/messages",
            {"sessionId": list_session, "role": "user", "content": f"line {index} " * 8},
            content_type="application/json",
        )
    post_body = {"sessionId": post_session, "role": "user", "content": "a line of the load"}
    routes = {
        "GET /api/characters/:id": lambda c, prefix: c.get(f"{prefix}characters/{character_id}"),
        "GET /api/messages (50 rows)": lambda c, prefix: c.get(
            f"{prefix}messages", {"sessionId": list_session}
        ),
        "POST /api/messages": lambda c, prefix: c.post(
            f"{prefix}messages", post_body, content_type="application/json"
        ),
    }
    queries = {}
    for name, call in routes.items():
        with CaptureQueriesContext(connection) as api:
            api_status = call(client, "/api/").status_code
        bare_settings = override_settings(ROOT_URLCONF="bench.bare", MIDDLEWARE=[])
        with bare_settings, CaptureQueriesContext(connection) as bare:
            bare_status = call(Client(), "/bench/bare/").status_code
        assert api_status == bare_status < 300, (name, api_status, bare_status)
        queries[name] = [len(api), len(bare)]
    return {
        "character_id": character_id,
        "list_session": list_session,
        "post_session": post_session,
        "post_body": post_body,
        "queries": queries,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
