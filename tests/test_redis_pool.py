"""Redis on the request path (issue 21, items 1 and 2): one connection pool per process, shared
by every request's cache handle and the rate counters, and one round trip per counted event.

Connections and round trips are counted by the connection class itself (the pool's
`connection_class` option): `send_packed_command` runs once per round trip (a pipeline or a
script is one), and the distinct connections that ran it are the connections opened. The cache
gets a client name of its own, so Redis's `CLIENT LIST` shows this test's connections only.

Requests go through `config.asgi:application`, each in a task of its own as the server runs
them: with Django's stock pool (and the old add-then-incr counter) the hundred requests open a
hundred connections, and each counted request takes three round trips.
"""

from __future__ import annotations

import asyncio
import threading
import uuid

import django
import httpx
import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from config.asgi import application
from config.compat import django as compat_django
from core import ratelimit, redis_pool
from core.ratelimit import Rate

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL (Redis)")

HANDFUL = 4


class CountingConnection(redis.Connection):
    """A redis-py connection that counts round trips (every `send_packed_command`, a pipeline
    or a script being one) and the distinct connections that made them."""

    lock = threading.Lock()
    sends = 0
    used: set[int] = set()
    held: list[redis.Connection] = []  # keeps ids unique while a test counts

    def send_packed_command(self, command, check_health=True):
        with CountingConnection.lock:
            CountingConnection.sends += 1
            if id(self) not in CountingConnection.used:
                CountingConnection.used.add(id(self))
                CountingConnection.held.append(self)
        return super().send_packed_command(command, check_health)

    @classmethod
    def connections(cls) -> int:
        return len(cls.used)

    @classmethod
    def reset(cls) -> None:
        with cls.lock:
            cls.sends = 0
            cls.used = set()
            cls.held = []


@pytest.fixture
def counted_cache(settings):
    """The production cache settings, with a client name of this test's own and connections
    that count themselves."""
    name = f"pooltest-{uuid.uuid4().hex[:12]}"
    default = settings.CACHES["default"]
    settings.CACHES = {
        "default": {
            **default,
            "OPTIONS": {
                **default.get("OPTIONS", {}),
                "client_name": name,
                "connection_class": CountingConnection,
            },
        }
    }
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "game": "100000/hour"}
    CountingConnection.reset()
    yield name
    CountingConnection.reset()
    for pool in redis_pool.shared_pools():
        if pool.connection_kwargs.get("client_name") == name:
            pool.disconnect()


def _named_connections(name: str) -> int:
    with redis.Redis.from_url(settings.REDIS_URL) as admin:
        return sum(1 for client in admin.client_list() if client.get("name") == name)


def test_production_settings_use_the_shared_pool():
    assert settings.CACHES["default"]["OPTIONS"]["pool_class"] == (
        "core.redis_pool.SharedConnectionPool"
    )
    assert settings.CACHES["default"]["BACKEND"] == "config.compat.django.ProcessRedisCache"


def test_the_cache_client_workaround_was_checked_for_the_installed_django():
    """Fails when the Django pin moves: read config/compat/django.py again (does `RedisCache`
    still build its client in `_cache` from `_class`, `_servers` and `_options`, and does the
    client still keep nothing per request?), then add the version to TESTED."""
    assert compat_django.ACTIVE, (django.get_version(), compat_django.TESTED)
    pins = (settings.BASE_DIR / "requirements.txt").read_text().splitlines()
    [pinned] = [line.split("==", 1)[1] for line in pins if line.startswith("Django==")]
    assert pinned in compat_django.TESTED, (pinned, compat_django.TESTED)


async def test_cache_handles_of_a_hundred_tasks_share_one_client(counted_cache):
    """Each task's handle is a new `RedisCache`; stock, each built a client of its own (a
    `redis.DriverInfo` and its package-metadata read each time)."""

    async def client_of_a_new_handle(n: int):
        await cache.aset(f"client-test-{n}", n, 30)
        assert await cache.aget(f"client-test-{n}") == n
        return cache._cache

    clients = [await asyncio.create_task(client_of_a_new_handle(n)) for n in range(100)]
    assert all(client is clients[0] for client in clients)
    before = compat_django.process_clients()
    with override_settings(
        CACHES={
            "default": {
                **settings.CACHES["default"],
                "OPTIONS": {**settings.CACHES["default"]["OPTIONS"], "client_name": "other"},
            }
        }
    ):
        other = await asyncio.create_task(client_of_a_new_handle(100))
    assert other is not clients[0], "other options, another client"
    assert compat_django.process_clients() == before + 1


def _our_pools(name: str) -> list[redis.ConnectionPool]:
    return [p for p in redis_pool.shared_pools() if p.connection_kwargs.get("client_name") == name]


async def test_cache_handles_of_a_hundred_tasks_share_one_pool(counted_cache):
    """Django keeps a cache handle per context (each task has its own); each handle used to
    bring its own pool."""
    for n in range(100):
        await asyncio.create_task(cache.aset(f"pool-test-{n}", n, 30))
    assert 1 <= CountingConnection.connections() <= HANDFUL
    assert len(_our_pools(counted_cache)) == 1
    await asyncio.to_thread(ratelimit.hit, "pool-test", "one", Rate(limit=10, seconds=60))
    assert len(_our_pools(counted_cache)) == 1, "the rate counters use the cache's own pool"


@pytest.mark.django_db(transaction=True)
async def test_a_hundred_requests_open_a_handful_of_connections(counted_cache):
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        # A task per request, each with a context of its own, as the server runs them.
        statuses = [
            (await asyncio.create_task(http.get("/api/game_titles"))).status_code
            for _ in range(100)
        ]
    assert statuses == [200] * 100
    assert 1 <= CountingConnection.connections() <= HANDFUL
    assert _named_connections(counted_cache) <= HANDFUL


@pytest.mark.django_db(transaction=True)
async def test_a_counted_request_is_one_round_trip_to_redis(counted_cache):
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        assert (await http.get("/api/game_titles")).status_code == 200  # connects, loads script
        CountingConnection.reset()
        for _ in range(20):
            assert (await http.get("/api/game_titles")).status_code == 200
    assert CountingConnection.sends == 20
    assert CountingConnection.connections() <= HANDFUL


def test_a_count_is_one_round_trip_and_the_counter_expires(counted_cache, rate_clock):
    rate = Rate(limit=3, seconds=60)
    ratelimit.hit("trip", "warm", rate)
    CountingConnection.reset()
    counts = [ratelimit.hit("trip", "ident", rate).count for _ in range(5)]
    assert CountingConnection.sends == 5
    assert counts == [1, 2, 3, 4, 5]
    assert ratelimit.peek("trip", "ident", rate).count == 5  # the cache API reads the counter
    shared = redis_pool.cache_redis()
    start = int(rate_clock() // rate.seconds) * rate.seconds
    ttl = shared.client.ttl(shared.make_key(f"rl:trip:ident:{start}"))
    assert 0 < ttl <= rate.seconds + 60


def test_counts_with_an_amount_and_taken_back_keep_their_expiry(counted_cache, rate_clock):
    rate = Rate(limit=10, seconds=60)
    first = ratelimit.hit("amount", "ident", rate, amount=3)
    ratelimit.unhit("amount", "ident", rate, first, amount=3)
    assert ratelimit.hit("amount", "ident", rate, amount=3).count == 3
    shared = redis_pool.cache_redis()
    start = int(rate_clock() // rate.seconds) * rate.seconds
    assert shared.client.ttl(shared.make_key(f"rl:amount:ident:{start}")) > 0


def test_concurrent_counts_lose_nothing(counted_cache):
    rate = Rate(limit=1000, seconds=3600)
    barrier = threading.Barrier(16)

    def count():
        barrier.wait()
        for _ in range(25):
            ratelimit.hit("race", "ident", rate)

    threads = [threading.Thread(target=count) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ratelimit.peek("race", "ident", rate).count == 400
    assert CountingConnection.connections() <= 16
