"""Concurrent writers to one game: `sequence_number` stays 1..N with no gap and no duplicate.

Real threads on real connections (transaction=True), so the locking of the database under test
is what orders the writers: SQLite's IMMEDIATE transactions, PostgreSQL's row lock on the game.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from games import services
from games.errors import MessageTooLarge
from games.models import Game, Message
from tests.conftest import JsonClient
from tests.factories import GameFactory, GameSessionFactory

THREADS = 8
PER_THREAD = 10


def run_threads(count: int, target) -> list[BaseException]:
    """Start `count` threads together on `target(index)`; return what they raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            target(index)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a writer thread hung"
    return errors


def sequence_numbers(game_id: int) -> list[int]:
    return list(
        Message.objects.filter(game_id=game_id)
        .order_by("sequence_number")
        .values_list("sequence_number", flat=True)
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_service_writers_get_gap_free_numbers():
    game = GameFactory()
    # Two threads share each session, so session locks and game locks both contend.
    sessions = [GameSessionFactory(game=game) for _ in range(THREADS // 2)]

    def write(index: int) -> None:
        session = sessions[index % len(sessions)]
        for n in range(PER_THREAD):
            services.message_create(
                session_id=str(session.pk),
                role="user" if n % 2 else "assistant",
                content=f"thread {index} message {n}",
                actor=None,
            )

    errors = run_threads(THREADS, write)

    assert errors == []
    total = THREADS * PER_THREAD
    assert sequence_numbers(game.pk) == list(range(1, total + 1))
    assert Game.objects.get(pk=game.pk).last_sequence_number == total
    # Within one session, id order and sequence order agree.
    for session in sessions:
        rows = list(
            Message.objects.filter(session=session)
            .order_by("id")
            .values_list("sequence_number", flat=True)
        )
        assert rows == sorted(rows) and len(rows) == 2 * PER_THREAD


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_with_refusals_leave_no_gap():
    """Refused writes (too large) interleaved with good ones do not consume numbers."""
    game = GameFactory()
    sessions = [GameSessionFactory(game=game) for _ in range(THREADS)]
    refused = []
    lock = threading.Lock()

    def write(index: int) -> None:
        for n in range(PER_THREAD):
            content = "x" * (32 * 1024 + 1) if n % 3 == 0 else f"{index}:{n}"
            try:
                services.message_create(
                    session_id=str(sessions[index].pk), role="user", content=content, actor=None
                )
            except MessageTooLarge:
                with lock:
                    refused.append((index, n))

    errors = run_threads(THREADS, write)

    assert errors == []
    refused_per_thread = len(range(0, PER_THREAD, 3))
    assert len(refused) == THREADS * refused_per_thread
    total = THREADS * (PER_THREAD - refused_per_thread)
    assert sequence_numbers(game.pk) == list(range(1, total + 1))


@pytest.mark.django_db(transaction=True)
def test_concurrent_http_writers_get_gap_free_numbers():
    game = GameFactory()
    sessions = [GameSessionFactory(game=game) for _ in range(THREADS)]
    ids: list[int] = []
    lock = threading.Lock()

    def write(index: int) -> None:
        client = JsonClient()
        for n in range(PER_THREAD // 2):
            response = client.post(
                "/api/messages",
                {"sessionId": str(sessions[index].pk), "role": "user", "content": f"{index}:{n}"},
            )
            assert response.status_code == 201, response.content
            with lock:
                ids.append(response.json()["id"])

    errors = run_threads(THREADS, write)

    assert errors == []
    total = THREADS * (PER_THREAD // 2)
    assert len(set(ids)) == total
    history = JsonClient().get(f"/api/history/{game.pk}").json()
    assert history["total"] == total
    assert [item["sequence_number"] for item in history["data"]] == list(range(1, total + 1))
    assert sequence_numbers(game.pk) == list(range(1, total + 1))
