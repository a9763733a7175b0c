"""Shared fixtures: HTTP clients, users and tokens."""

from __future__ import annotations

import json
import logging
import os
import re
import time

import pytest
from rest_framework.test import APIClient

from accounts.services import tokens_for_user
from ai.providers import reset_providers
from core import ratelimit
from tests.asgi_client import AsgiHandler
from tests.factories import UserFactory
from tests.fake_openai import FakeOpenAI, point_ai_tasks


class JsonClient(APIClient):
    """APIClient that sends JSON bodies by default, through the production ASGI application
    (`config.asgi.application`, tests/asgi_client.py) rather than Django's test handler."""

    def __init__(self, enforce_csrf_checks=False, **defaults):
        super().__init__(enforce_csrf_checks, **defaults)
        self.handler = AsgiHandler(enforce_csrf_checks)

    def force_authenticate(self, user=None, token=None):
        raise NotImplementedError("a test authenticates as production does: with a token")

    def generic(self, method, path, data="", content_type=None, **extra):
        if content_type is None and data not in ("", None) and not isinstance(data, str | bytes):
            data = json.dumps(data)
            content_type = "application/json"
        return super().generic(method, path, data, content_type or "application/json", **extra)

    def post(self, path, data=None, **extra):
        return self.generic("POST", path, data if data is not None else "", **extra)

    def patch(self, path, data=None, **extra):
        return self.generic("PATCH", path, data if data is not None else "", **extra)

    def put(self, path, data=None, **extra):
        return self.generic("PUT", path, data if data is not None else "", **extra)


@pytest.fixture
def client() -> JsonClient:
    return JsonClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def token(user) -> str:
    return tokens_for_user(user=user).access


@pytest.fixture
def auth_client(token) -> JsonClient:
    c = JsonClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return c


@pytest.fixture
def other_auth_client(other_user) -> JsonClient:
    c = JsonClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(user=other_user).access}")
    return c


class HeldClock:
    """core.ratelimit's clock, held at `now` until the test moves it."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def rate_clock(monkeypatch) -> HeldClock:
    """Every rate window (core.ratelimit) on a clock held at the time the test starts: a
    test's requests fall in one window however slow the machine, wherever the minute, hour or
    day turns, and a test reaches the next window by moving the clock on, never by waiting.
    Server processes a live test starts keep the wall clock."""
    held = HeldClock(time.time())
    monkeypatch.setattr(ratelimit, "clock", held)
    return held


@pytest.fixture(autouse=True)
def channels_closes_connections():
    """channels' `database_sync_to_async` closes the thread's database connections after each
    call as their lifetime says (on PostgreSQL: gives them back to the pool). Its test
    communicator turns that off around each `send_input` / `receive_output` with
    `mock.patch("channels.db.close_old_connections", no_op)` across an `await`; communicators
    awaited together (hundreds of sockets at once) exit their patches out of order, and the
    last to exit restores the no-op for good. Every later test then left a connection out of
    the pool per thread that ended (a full run on PostgreSQL exhausted the pool in
    tests/test_sse_memory.py). Each test starts and ends with channels' own function."""
    import channels.db
    import django.db

    channels.db.close_old_connections = django.db.close_old_connections
    yield
    channels.db.close_old_connections = django.db.close_old_connections


@pytest.fixture(autouse=True)
def _clear_cache():
    """Throttle counters live in the cache; start each test from zero."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def unlimited_turns(settings, fake_openai):
    """The fake model server, with the turn and request limits out of the way (the tests of
    what many streams leave behind make many turns quickly) and no INFO records: pytest keeps
    every record a test logs until it ends (the HTTP clients log each request at INFO once
    something sets their level), which would read as objects kept per stream."""
    settings.AI_TURN_RATE = None
    settings.AI_TURNS_PER_CONVERSATION = 0
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "assistant": None}
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        yield fake_openai
    finally:
        logging.disable(previous)


@pytest.fixture
def fake_openai(settings):
    """A running fake OpenAI-compatible server with every AI task pointed at it (the real SDK
    path, no retries, a 2 s timeout); cached provider clients are forgotten before and after."""
    reset_providers()
    server = FakeOpenAI().start()
    point_ai_tasks(settings, server.base_url)
    yield server
    server.stop()
    reset_providers()


# --- Under CI, a missing service fails ---------------------------------------------------------
# CI (the `CI` variable set, as CI services and .ci/run do) runs the suite against the
# production shape's services, and every test. A run without PostgreSQL or Redis stops before
# the first test: without them some tests would skip and others would pass on SQLite or the
# in-memory layer, so a job with only one of DATABASE_URL and REDIS_URL set would look green.
# And a test that skips for want of a service (its reason names PostgreSQL, Redis, Node or
# their variables, as every such skip here does) fails instead of skipping.
SERVICE_NAMED = re.compile(r"DATABASE_URL|REDIS_URL|postgres|redis|\bnode\b|\bnpm\b", re.IGNORECASE)


def _under_ci() -> bool:
    return bool(os.environ.get("CI"))


def pytest_sessionstart(session):
    if not _under_ci():
        return
    from tests.live import shared_services_missing

    missing = shared_services_missing()
    if missing:
        pytest.exit(
            f"CI runs the tests against PostgreSQL and Redis; this run lacks "
            f"{' and '.join(missing)} (.ci/run sets both; unset CI to run without them)",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


def fail_service_skips_under_ci(report) -> None:
    """Turn the report of a test skipped for want of a service into a failure, under CI."""
    if not (_under_ci() and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if SERVICE_NAMED.search(reason):
        report.outcome = "failed"
        report.longrepr = f"{reason}\nCI must run this test: provide the service, never skip it."


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    fail_service_skips_under_ci(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield
    fail_service_skips_under_ci(report)
    return report
