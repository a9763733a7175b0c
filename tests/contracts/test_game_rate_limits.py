"""Families G and A's request limits (issue 9): counted atomically in the shared cache, so a
concurrent burst passes exactly the limit, and by the socket peer's address, so a forged
X-Forwarded-For is not a fresh identity. With REDIS_URL the count is Redis's INCR."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tests.conftest import JsonClient

pytestmark = pytest.mark.django_db(transaction=True)

# Windows are fixed and aligned to the clock: tests use long ones, so that a burst never
# straddles two windows (which would rightly let through up to twice the limit).


def burst(path: str, count: int, **extra) -> list[int]:
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(count)

    def one(i: int):
        client = JsonClient()
        barrier.wait()
        status = client.get(path, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}", **extra).status_code
        with lock:
            statuses.append(status)
        connection.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.mark.parametrize(
    ("scope", "path", "passed"),
    # A's list without an identity answers 401, once past the limit check.
    [("game", "/api/game_titles", 200), ("assistant", "/api/chats", 401)],
)
def test_a_concurrent_burst_passes_exactly_the_limit(settings, scope, path, passed):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, scope: "12/day"}
    statuses = burst(path, 30)
    assert statuses.count(passed) == 12
    assert statuses.count(429) == 18


def test_the_limit_answers_in_the_family_body_with_retry_after(settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "game": "1/hour"}
    client = JsonClient()
    assert client.get("/api/game_titles").status_code == 200
    limited = client.get("/api/game_titles", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert limited.status_code == 429
    assert set(limited.json()) == {"error"}
    assert 1 <= int(limited["Retry-After"]) <= 3600
