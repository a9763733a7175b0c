"""A dependency stopped mid-run, seen from outside: a real server process whose PostgreSQL
(or Redis) connection goes through a TCP proxy that the test cuts and restores.

- PostgreSQL down: every family answers 503 in its own envelope with Retry-After (never a 500
  or HTML), the server recovers on its own when the database is back, and no write that was
  acknowledged is lost.
- Redis down: REST keeps working (rate counters fail open, broadcasts are skipped), and
  recovers when Redis is back.
These run against the real services of CI (`DATABASE_URL`, `REDIS_URL`).
"""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from django.conf import settings
from django.db import connection

from accounts.services import tokens_for_user
from games.models import Message
from tests.factories import GameSessionFactory, UserFactory
from tests.live import LiveServer, wait_for_other_sessions_to_end
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.django_db(transaction=True)

POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def _through(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    netloc = f"{netloc[0]}@{host}" if len(netloc) == 2 else host
    return urlunsplit(parts._replace(netloc=netloc))


def _write_messages(base: str, session_id: str, stop: threading.Event, results: list) -> None:
    with httpx.Client(base_url=base, timeout=15) as http:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                response = http.post(
                    "/api/messages",
                    json={"sessionId": session_id, "role": "user", "content": f"line {n}"},
                )
            except httpx.TransportError:
                results.append((0, None))
                continue
            results.append((response.status_code, response))


RECOVERY_SECONDS = 20


def _wait_for_a_write(results: list, since: int, timeout: float) -> float | None:
    """Seconds until a write after index `since` succeeded, or None."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if any(status == 201 for status, _ in results[since:]):
            return time.monotonic() - started
        time.sleep(0.05)
    return None


@pytest.mark.skipif(not POSTGRES, reason="needs DATABASE_URL (PostgreSQL behind a proxy)")
def test_database_down_mid_run_is_503_in_each_family_then_recovers_losing_nothing(tmp_path):
    session = GameSessionFactory()
    user = UserFactory()
    token = tokens_for_user(user=user).access
    db = settings.DATABASES["default"]
    proxy = TcpProxy(int(db.get("PORT") or 5432), db.get("HOST") or "127.0.0.1").start()
    server = LiveServer(
        db_name=connection.settings_dict["NAME"],
        log_path=tmp_path / "server.log",
        extra_env={
            "DATABASE_URL": _through(settings.DATABASE_URL, proxy.port),
            "DB_POOL_TIMEOUT": "2",
        },
    ).start()
    results: list = []
    stop = threading.Event()
    writers = [
        threading.Thread(target=_write_messages, args=(server.url, str(session.pk), stop, results))
        for _ in range(4)
    ]
    try:
        for writer in writers:
            writer.start()
        time.sleep(1.0)
        proxy.cut()
        time.sleep(0.5)
        with httpx.Client(base_url=server.url, timeout=15) as http:
            outage = {
                "G": http.get(f"/api/messages?sessionId={session.pk}"),
                "A": http.get("/api/chats", headers={"Authorization": f"Bearer {token}"}),
                "M": http.get("/api/v1/projects", headers={"Authorization": f"Bearer {token}"}),
            }
        time.sleep(1.0)
        proxy.restore()
        restored_at = len(results)
        recovered_in = _wait_for_a_write(results, restored_at, RECOVERY_SECONDS)
        time.sleep(0.5)
        stop.set()
        for writer in writers:
            writer.join(timeout=30)
        with httpx.Client(base_url=server.url, timeout=15) as http:
            after = http.get(f"/api/messages?sessionId={session.pk}")
    finally:
        stop.set()
        server.stop()
        proxy.stop()
        wait_for_other_sessions_to_end(connection)

    for family, response in outage.items():
        assert response.status_code == 503, (family, response.text, server.log_tail())
        assert response.headers["content-type"].startswith("application/json")
        assert int(response.headers["Retry-After"]) >= 1
        body = response.json()
        if family == "G":
            assert set(body) == {"error"} and "database" in body["error"].lower()
        elif family == "A":
            assert body["statusCode"] == 503 and "database" in body["statusMessage"].lower()
        else:
            assert body["success"] is False
            assert body["error"]["code"] == "SERVICE_UNAVAILABLE"

    statuses = [status for status, _ in results]
    assert set(statuses) <= {201, 503}, (sorted(set(statuses)), server.log_tail())
    assert 503 in statuses, "the outage was not seen"
    for status, response in results:
        if status == 503:
            assert set(response.json()) == {"error"} and response.headers["Retry-After"]
    assert recovered_in is not None, f"no write succeeded {RECOVERY_SECONDS} s after recovery"
    acknowledged = {response.json()["id"] for status, response in results if status == 201}
    stored = set(Message.objects.filter(session=session).values_list("id", flat=True))
    assert acknowledged <= stored, "an acknowledged write was lost"
    assert after.status_code == 200 and len(after.json()) == len(stored)


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL (Redis behind a proxy)")
def test_redis_down_mid_run_keeps_rest_working_and_sockets_come_back(tmp_path):
    import asyncio
    import json

    import websockets

    session = GameSessionFactory()
    user = UserFactory()
    token = tokens_for_user(user=user).access
    redis = urlsplit(settings.REDIS_URL)
    proxy = TcpProxy(redis.port or 6379, redis.hostname or "127.0.0.1").start()
    server = LiveServer(
        db_name=connection.settings_dict["NAME"],
        log_path=tmp_path / "server.log",
        offline_delay=0.0,
        extra_env={"REDIS_URL": _through(settings.REDIS_URL, proxy.port)},
    ).start()
    bearer = {"Authorization": f"Bearer {token}"}

    def rest_round(http: httpx.Client) -> dict[str, int]:
        chat = http.post("/api/chats", json={"prompt": "Still there?"}, headers=bearer)
        answers = {
            "G read": http.get(f"/api/messages?sessionId={session.pk}").status_code,
            "G write": http.post(
                "/api/messages",
                json={"sessionId": str(session.pk), "role": "user", "content": "hello"},
            ).status_code,
            "A create": chat.status_code,
            "M list": http.get("/api/v1/projects", headers=bearer).status_code,
        }
        if chat.status_code == 201:
            stream = http.post(
                f"/api/chats/{chat.json()['id']}",
                json={"messages": [{"role": "user", "content": "Go"}]},
                headers=bearer,
            )
            answers["A stream"] = stream.status_code
            answers["A stream complete"] = int("data: [DONE]" in stream.text)
        # A new cookie identity, then its cookie read back: sessions are cached in Redis and
        # kept in the database (config/sessions.py).
        with httpx.Client(base_url=server.url, timeout=30) as anonymous:
            created = anonymous.post("/api/chats", json={"prompt": "Anyone there?"})
            answers["A cookie create"] = created.status_code
            if created.status_code == 201:
                read = anonymous.get(f"/api/chats/{created.json()['id']}")
                answers["A cookie read"] = read.status_code
        return answers

    async def socket_round() -> str:
        url = server.url.replace("http", "ws") + f"/ws?sessionId={session.pk}"
        async with websockets.connect(url, open_timeout=10) as ws:
            await ws.send(json.dumps({"action": "typing", "value": True}))
            await ws.send(json.dumps({"action": "nonsense"}))
            return json.loads(await asyncio.wait_for(ws.recv(), 10))["kind"]

    expected = {
        "G read": 200,
        "G write": 201,
        "A create": 201,
        "M list": 200,
        "A stream": 200,
        "A stream complete": 1,
        "A cookie create": 201,
        "A cookie read": 200,
    }
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            assert rest_round(http) == expected, server.log_tail()
            proxy.cut()
            assert rest_round(http) == expected, server.log_tail()
            # Redis really was gone: the counters failed open and said so.
            assert "Rate counter unavailable" in server.log_tail(400)
            proxy.restore()
            time.sleep(0.5)
            assert rest_round(http) == expected, server.log_tail()
        assert asyncio.run(socket_round()) == "info", server.log_tail()
    finally:
        server.stop()
        proxy.stop()
        wait_for_other_sessions_to_end(connection)
