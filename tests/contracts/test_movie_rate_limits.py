"""Family M's tier rate limits (seed 003 "Rate Limiting", CONTRACTS.md "Movie platform"):
100 / 1,000 / 10,000 requests an hour per user and tier, counted atomically in the shared
cache; X-RateLimit-Limit, -Remaining, -Reset and -Tier on every M answer, errors included;
429 RATE_LIMITED with Retry-After past the limit. Callers without a token are counted per
client address (the socket peer, unless TRUSTED_PROXY_COUNT says proxies stand in front).
"""

from __future__ import annotations

import math
import os
import threading

import httpx
import pytest
from django.test import RequestFactory

from accounts.services import tokens_for_user
from config.api.throttles import client_address
from tests.conftest import JsonClient
from tests.factories import UserFactory
from tests.helpers import json_body
from tests.helpers import movie_error as assert_movie_error
from tests.live import LiveServer, wait_for_other_sessions_to_end

pytestmark = pytest.mark.django_db

PROJECTS = "/api/v1/projects"
HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Tier")


def bearer(user) -> JsonClient:
    c = JsonClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(user=user).access}")
    return c


def numbers(response) -> tuple[int, int, int, str]:
    return (
        int(response["X-RateLimit-Limit"]),
        int(response["X-RateLimit-Remaining"]),
        int(response["X-RateLimit-Reset"]),
        response["X-RateLimit-Tier"],
    )


@pytest.fixture
def limit(settings):
    """Set one tier's limit for a test: limit("free", 3)."""

    def set_limit(tier: str, value: int) -> None:
        settings.MOVIE_RATE_LIMITS = {**settings.MOVIE_RATE_LIMITS, tier: value}

    return set_limit


# --- Headers ------------------------------------------------------------------------------


def test_headers_on_a_success(auth_client, rate_clock):
    response = auth_client.get(PROJECTS)
    assert response.status_code == 200
    limit_, remaining, reset, tier = numbers(response)
    assert (limit_, remaining, tier) == (100, 99, "free")
    assert rate_clock.now < reset <= rate_clock.now + 3600
    assert reset % 3600 == 0  # the end of the fixed hour window


def test_remaining_counts_down_within_one_window(auth_client):
    seen = [numbers(auth_client.get(PROJECTS)) for _ in range(4)]
    assert [s[1] for s in seen] == [99, 98, 97, 96]
    assert len({s[2] for s in seen}) == 1


@pytest.mark.parametrize(
    ("tier", "expected"), [("free", 100), ("pro", 1000), ("enterprise", 10000)]
)
def test_each_tier_has_its_limit(tier, expected):
    response = bearer(UserFactory(tier=tier)).get(PROJECTS)
    assert numbers(response)[0::3] == (expected, tier)
    assert numbers(response)[1] == expected - 1


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/api/v1/projects/project-0000000000000000", None, 404, "NOT_FOUND"),
        ("POST", PROJECTS, {"title": ""}, 400, "VALIDATION_ERROR"),
        ("DELETE", PROJECTS, None, 405, "METHOD_NOT_ALLOWED"),
        ("GET", "/api/v1/not-a-route", None, 404, "NOT_FOUND"),
    ],
)
def test_headers_on_errors_of_a_user(auth_client, method, path, body, status, code):
    response = auth_client.generic(method, path, body if body is not None else "")
    assert_movie_error(response, status, code)
    assert numbers(response)[0::3] == (100, "free")
    assert numbers(response)[1] == 99


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-jwt"])
def test_a_caller_without_a_valid_token_is_counted_as_anonymous(client, authorization):
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    first = client.get(PROJECTS, **extra)
    assert_movie_error(first, 401, "AUTH_REQUIRED")
    assert numbers(first)[0::3] == (100, "anonymous")
    second = client.get("/api/v1/not-a-route", **extra)
    assert numbers(second)[1] == numbers(first)[1] - 1  # one counter per address


def test_login_and_refresh_are_counted_per_address(client, user):
    login = client.post("/api/auth/login", {"email": user.email, "password": "wrong"})
    assert numbers(login)[0::3] == (100, "anonymous")
    refresh = client.post("/api/auth/refresh", {"refreshToken": "nope"})
    assert_movie_error(refresh, 401, "AUTH_REQUIRED")
    assert numbers(refresh)[1] == 98


# --- Past the limit -------------------------------------------------------------------------


def test_past_the_limit_is_429_with_retry_after(auth_client, limit, rate_clock):
    limit("free", 2)
    assert [auth_client.get(PROJECTS).status_code for _ in range(2)] == [200, 200]
    response = auth_client.get(PROJECTS)
    error = assert_movie_error(response, 429, "RATE_LIMITED")
    assert "retry" in error["message"].lower()
    limit_, remaining, reset, tier = numbers(response)
    assert (limit_, remaining, tier) == (2, 0, "free")
    retry_after = int(response["Retry-After"])
    # The seconds left in the window, on the windows' (held) clock.
    assert retry_after == math.ceil(reset - rate_clock.now)
    assert response.json()["requestId"] == response["X-Request-ID"]


def test_refused_requests_are_not_served(auth_client, user, limit):
    limit("free", 1)
    json_body(auth_client.post(PROJECTS, {"title": "One"}), 201)
    assert_movie_error(auth_client.post(PROJECTS, {"title": "Two"}), 429, "RATE_LIMITED")
    assert user.owned_projects.count() == 1


def test_a_bad_token_past_the_anonymous_limit_is_429_not_401(client, limit):
    limit("anonymous", 1)
    assert client.get(PROJECTS).status_code == 401
    assert_movie_error(client.get(PROJECTS), 429, "RATE_LIMITED")


def test_users_are_counted_apart(limit):
    limit("free", 1)
    first, second = bearer(UserFactory()), bearer(UserFactory())
    assert first.get(PROJECTS).status_code == 200
    assert first.get(PROJECTS).status_code == 429
    assert second.get(PROJECTS).status_code == 200


def test_a_paid_tier_is_not_held_to_the_free_limit(limit):
    limit("free", 1)
    c = bearer(UserFactory(tier="pro"))
    assert [c.get(PROJECTS).status_code for _ in range(3)] == [200, 200, 200]


def test_a_new_window_starts_from_zero(auth_client, settings, limit, rate_clock):
    limit("free", 1)
    assert auth_client.get(PROJECTS).status_code == 200
    refused = auth_client.get(PROJECTS)
    assert refused.status_code == 429
    reset = int(refused["X-RateLimit-Reset"])
    rate_clock.now = reset - 0.001  # the window's last moment: still refused
    assert auth_client.get(PROJECTS).status_code == 429
    rate_clock.now = reset  # the next window
    served = auth_client.get(PROJECTS)
    assert served.status_code == 200
    assert numbers(served)[1:3] == (0, reset + settings.MOVIE_RATE_WINDOW)


def test_concurrent_requests_never_pass_more_than_the_limit(limit):
    limit("anonymous", 10)
    statuses: list[int] = []
    lock = threading.Lock()

    def hit():
        response = JsonClient().get("/api/v1/not-a-route")
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=hit) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(404) == 10 and statuses.count(429) == 20


# --- The client address -------------------------------------------------------------------


def test_the_address_is_the_socket_peer_by_default(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="1.2.3.4, 5.6.7.8"
    )
    assert client_address(request) == "10.0.0.9"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # a forged first entry is ignored
        (2, "198.51.100.1, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        (3, "203.0.113.7", "203.0.113.7"),  # fewer hops than proxies: the farthest one
        (1, "", "10.0.0.9"),
    ],
)
def test_trusted_proxies_name_the_hop_to_believe(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", **extra)
    assert client_address(request) == expected


def test_a_forged_forwarded_header_does_not_escape_the_limit(client, limit):
    limit("anonymous", 1)
    assert client.get("/api/v1/x", HTTP_X_FORWARDED_FOR="1.1.1.1").status_code == 404
    assert client.get("/api/v1/x", HTTP_X_FORWARDED_FOR="2.2.2.2").status_code == 429


def test_behind_a_trusted_proxy_each_client_is_counted_apart(client, settings, limit):
    settings.TRUSTED_PROXY_COUNT = 1
    limit("anonymous", 1)
    assert client.get("/api/v1/x", HTTP_X_FORWARDED_FOR="1.1.1.1").status_code == 404
    assert client.get("/api/v1/x", HTTP_X_FORWARDED_FOR="2.2.2.2").status_code == 404
    assert client.get("/api/v1/x", HTTP_X_FORWARDED_FOR="1.1.1.1").status_code == 429


def test_other_addresses_are_counted_apart(client, limit):
    limit("anonymous", 1)
    assert client.get("/api/v1/x", REMOTE_ADDR="10.0.0.1").status_code == 404
    assert client.get("/api/v1/x", REMOTE_ADDR="10.0.0.1").status_code == 429
    assert client.get("/api/v1/x", REMOTE_ADDR="10.0.0.2").status_code == 404


# --- Two server processes on one Redis ------------------------------------------------------

LIVE_LIMIT = 7
LIVE_WINDOW = 10**10  # seconds


@pytest.fixture
def two_live_servers(django_db_blocker, tmp_path, monkeypatch):
    """Two server processes on the test database and the same Redis, with a small free limit."""
    from django.db import connection

    monkeypatch.setenv("MOVIE_RATE_LIMIT_FREE", str(LIVE_LIMIT))
    # The servers count on the wall clock: a window that ends in the year 2286, so that the
    # test's requests never straddle two windows (an hour's would, at the turn of the hour).
    monkeypatch.setenv("MOVIE_RATE_WINDOW", str(LIVE_WINDOW))
    servers = [
        LiveServer(db_name=connection.settings_dict["NAME"], log_path=tmp_path / f"s{n}.log")
        for n in range(2)
    ]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()
        with django_db_blocker.unblock():
            wait_for_other_sessions_to_end(connection)


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)")
@pytest.mark.django_db(transaction=True)
def test_two_processes_share_one_count(two_live_servers):
    user = UserFactory()
    headers = {"Authorization": f"Bearer {tokens_for_user(user=user).access}"}
    statuses, remaining, tiers = [], [], set()
    for n in range(LIVE_LIMIT + 5):
        server = two_live_servers[n % 2]
        response = httpx.get(f"{server.url}{PROJECTS}", headers=headers, timeout=10)
        statuses.append(response.status_code)
        remaining.append(int(response.headers["X-RateLimit-Remaining"]))
        tiers.add(response.headers["X-RateLimit-Tier"])
        assert response.headers["X-RateLimit-Limit"] == str(LIVE_LIMIT)
    assert statuses == [200] * LIVE_LIMIT + [429] * 5
    assert remaining == [*range(LIVE_LIMIT - 1, -1, -1)] + [0] * 5
    assert tiers == {"free"}
    refused = httpx.get(f"{two_live_servers[1].url}{PROJECTS}", headers=headers, timeout=10)
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert int(refused.headers["Retry-After"]) >= 1
