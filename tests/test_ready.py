"""`GET /api/ready` (config/ready.py) through config.asgi:application: 200 with each check when
the database (and Redis, when used) answers and no migration is unapplied; 503 with
Retry-After and what is down otherwise, in family A's envelope beside the checks. The
database outage is real: a live server whose PostgreSQL connection goes through a TCP proxy
that the test cuts (as tests/test_outages.py does).
"""

from __future__ import annotations

import time

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from config import shutdown
from config.asgi import application
from config.families import ASSISTANT, family_for_path
from tests.live import LiveServer, wait_for_other_sessions_to_end
from tests.tcp_proxy import TcpProxy
from tests.test_outages import POSTGRES, _through

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "http://testserver"


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url=BASE, timeout=30
    )


def _expected_checks() -> set[str]:
    return {"database", "migrations"} | ({"redis"} if settings.REDIS_URL else set())


def test_ready_is_family_a_beside_health():
    assert family_for_path("/api/ready") == ASSISTANT == family_for_path("/api/health")


async def test_ready_when_everything_answers():
    async with _client() as http:
        response = await http.get("/api/ready")
        health = await http.get("/api/health")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == _expected_checks()
    assert set(body["checks"].values()) == {"ok"}
    # Liveness stays the seed's answer.
    assert health.status_code == 200 and health.json() == "running"


async def test_not_ready_once_the_process_is_shutting_down(monkeypatch):
    monkeypatch.setattr(shutdown, "is_shutting_down", lambda: True)
    async with _client() as http:
        response = await http.get("/api/ready")
        health = await http.get("/api/health")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    body = response.json()
    assert body["checks"]["process"] == "stopping"
    assert body["statusMessage"] == "Not ready: process"
    # Still alive: the liveness probe must not have it killed while it drains.
    assert health.status_code == 200


async def test_other_methods_get_family_a_errors():
    async with _client() as http:
        response = await http.post("/api/ready")
    assert response.status_code == 405
    assert set(response.json()) == {"statusCode", "statusMessage"}


def _last_migration() -> tuple[str, str]:
    recorder = MigrationRecorder(connection)
    applied = [key for key in recorder.applied_migrations() if key[0] == "chats"]
    return max(applied)


async def test_not_ready_while_a_migration_is_unapplied():
    app, name = await sync_to_async(_last_migration)()
    recorder = MigrationRecorder(connection)
    await sync_to_async(recorder.record_unapplied)(app, name)
    try:
        async with _client() as http:
            response = await http.get("/api/ready")
    finally:
        await sync_to_async(recorder.record_applied)(app, name)

    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) >= 1
    body = response.json()
    assert body["checks"]["migrations"] == "unapplied"
    assert body["checks"]["database"] == "ok"
    assert body["status"] == "not ready"
    assert body["statusCode"] == 503 and "migrations" in body["statusMessage"]
    # The route is public: it names what is down, never which migration or host.
    assert name not in response.text


@pytest.mark.skipif(not POSTGRES, reason="needs DATABASE_URL (PostgreSQL behind a proxy)")
def test_not_ready_while_the_database_is_down_then_ready_again(tmp_path):
    db = settings.DATABASES["default"]
    proxy = TcpProxy(int(db.get("PORT") or 5432), db.get("HOST") or "127.0.0.1").start()
    server = LiveServer(
        db_name=connection.settings_dict["NAME"],
        log_path=tmp_path / "server.log",
        extra_env={
            "DATABASE_URL": _through(settings.DATABASE_URL, proxy.port),
            "DB_POOL_TIMEOUT": "2",
            "READY_CHECK_TIMEOUT": "1",
        },
    ).start()
    try:
        with httpx.Client(base_url=server.url, timeout=15) as http:
            ready = http.get("/api/ready")
            proxy.cut()
            time.sleep(0.3)
            started = time.monotonic()
            down = http.get("/api/ready")
            took = time.monotonic() - started
            proxy.restore()
            deadline = time.monotonic() + 20
            again = http.get("/api/ready")
            while again.status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
                again = http.get("/api/ready")
    finally:
        server.stop()
        proxy.stop()
        wait_for_other_sessions_to_end(connection)

    assert ready.status_code == 200, (ready.text, server.log_tail())
    assert down.status_code == 503, (down.text, server.log_tail())
    assert int(down.headers["Retry-After"]) >= 1
    body = down.json()
    assert body["checks"]["database"] == "down"
    assert body["checks"]["migrations"] in {"unknown", "ok"}
    assert body["statusCode"] == 503 and "database" in body["statusMessage"]
    # The probe answers within its check timeout, not the pool's.
    assert took < 1.9, took
    assert again.status_code == 200, (again.text, server.log_tail())
