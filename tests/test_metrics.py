"""`/metrics` (config/metrics.py, core/metrics.py), scraped through config.asgi:application
as Prometheus would: requests of every family counted by their URL pattern, a streamed reply's
model call and SSE stream, a socket, a rate-limit refusal and a failed task move their
instruments with the right labels; the route answers the allowed networks and the metrics
token only, and anyone else gets the 404 of a route that does not exist, in G's body.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.tasks import task
from prometheus_client.parser import text_string_to_metric_families

from config.asgi import application
from media_library.worker import run_pending_tasks
from tests.factories import GameSessionFactory

BASE = "http://testserver"
TIMEOUT = 10
ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db(transaction=True)


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


class Scrape:
    def __init__(self, text: str):
        self.text = text
        self.samples = _samples(text)

    def value(self, name: str, **labels: str) -> float:
        return self.samples.get((name, frozenset(labels.items())), 0.0)


def _client(peer: str = "127.0.0.1") -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application, client=(peer, 40000)),
        base_url=BASE,
        timeout=TIMEOUT,
    )


async def scrape(http: httpx.AsyncClient) -> Scrape:
    response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)


async def test_requests_of_each_family_are_counted_by_route_and_status():
    async with _client() as http:
        before = await scrape(http)
        assert (await http.get("/api/game_titles")).status_code == 200
        assert (await http.get("/api/nope")).status_code == 404
        assert (await http.get("/api/ping")).status_code == 200
        assert (await http.get("/api/chats/abc")).status_code in (401, 404)
        assert (await http.get("/api/v1/projects")).status_code == 401
        after = await scrape(http)

    def moved(**labels: str) -> float:
        name = "aistory_http_requests_total"
        return after.value(name, **labels) - before.value(name, **labels)

    assert moved(family="G", route="api/game_titles", method="GET", status="200") == 1
    # An unknown path is one label value, whatever the path: never the raw path.
    assert moved(family="G", route="unmatched", method="GET", status="404") == 1
    assert moved(family="A", route="api/ping", method="GET", status="200") == 1
    chat = after.value(
        "aistory_http_requests_total",
        family="A",
        route="api/chats/<str:chat_id>",
        method="GET",
        status="401",
    )
    assert chat >= 1
    assert moved(family="M", route="api/v1/projects", method="GET", status="401") == 1
    assert "/api/nope" not in after.text and "api/chats/abc" not in after.text
    latency = "aistory_http_request_duration_seconds_count"
    assert (
        after.value(latency, family="A", route="api/ping", method="GET")
        - before.value(latency, family="A", route="api/ping", method="GET")
        == 1
    )


async def test_a_streamed_reply_counts_its_model_call_stream_and_turn():
    labels = {"task": "dialogue", "provider": "offline"}
    async with _client() as http:
        created = await http.post("/api/chats", json={"prompt": "Hello"})
        assert created.status_code == 201, created.text
        before = await scrape(http)
        response = await http.post(
            f"/api/chats/{created.json()['id']}",
            json={"messages": [{"role": "user", "content": "Tell me more"}]},
            headers={"Accept": "text/event-stream"},
        )
        assert response.status_code == 200 and "data: [DONE]" in response.text
        after = await scrape(http)

    calls = "aistory_model_calls_total"
    assert after.value(calls, outcome="ok", **labels) - before.value(calls, outcome="ok", **labels)
    first = "aistory_model_time_to_first_token_seconds_count"
    assert after.value(first, **labels) - before.value(first, **labels) == 1
    tokens = "aistory_model_tokens_relayed_total"
    assert after.value(tokens, **labels) > before.value(tokens, **labels)
    # The stream and the turn are over: neither is counted open any more (against the values
    # before it, which only another test's leftovers could make other than 0).
    assert after.value("aistory_sse_streams_open") == before.value("aistory_sse_streams_open")
    in_flight = "aistory_ai_turns_in_flight"
    assert after.value(in_flight) == before.value(in_flight)
    route = {"family": "A", "route": "api/chats/<str:chat_id>", "method": "POST"}
    assert after.value("aistory_http_requests_total", status="200", **route) >= 1


async def test_an_open_socket_is_counted_by_family_until_it_closes():
    session = await database_sync_to_async(GameSessionFactory)()
    communicator = WebsocketCommunicator(application, f"/ws?sessionId={session.pk}")
    async with _client() as http:
        before = await scrape(http)
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected
        try:
            during = await scrape(http)
        finally:
            await communicator.disconnect(timeout=TIMEOUT)
        after = await scrape(http)

    gauge = "aistory_websockets_connected"
    assert during.value(gauge, family="G") == before.value(gauge, family="G") + 1
    assert after.value(gauge, family="G") == before.value(gauge, family="G")


async def test_a_rate_limit_refusal_is_counted_by_its_limit(settings):
    settings.MOVIE_RATE_LIMITS = {**settings.MOVIE_RATE_LIMITS, "anonymous": 1}
    async with _client() as http:
        before = await scrape(http)
        assert (await http.get("/api/v1/projects")).status_code == 401
        assert (await http.get("/api/v1/projects")).status_code == 429
        after = await scrape(http)

    name = "aistory_rate_limit_refusals_total"
    assert after.value(name, limit="m") - before.value(name, limit="m") == 1


@task
def failing_task() -> None:
    raise RuntimeError("this task fails on purpose")


async def test_the_queue_depth_and_a_failed_task_are_counted():
    name = "aistory_tasks_finished_total"
    labels = {"task": f"{__name__}.failing_task", "status": "FAILED"}
    async with _client() as http:
        before = await scrape(http)
        await database_sync_to_async(failing_task.enqueue)()
        queued = await scrape(http)
        assert await database_sync_to_async(run_pending_tasks)() == 1
        after = await scrape(http)

    assert queued.value("aistory_tasks_queued") == before.value("aistory_tasks_queued") + 1
    assert after.value("aistory_tasks_queued") == before.value("aistory_tasks_queued")
    assert after.value(name, **labels) - before.value(name, **labels) == 1


# --- who may scrape --------------------------------------------------------------------------


async def _refused(response: httpx.Response) -> None:
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"error": "Not found"}


async def test_an_address_outside_the_allowed_networks_gets_404_in_game_body():
    async with _client("203.0.113.7") as http:
        await _refused(await http.get("/metrics"))
        # X-Forwarded-For is not believed without TRUSTED_PROXY_COUNT.
        await _refused(await http.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}))
        # Nor does a POST learn more (no CSRF page that shows the route exists).
        await _refused(await http.post("/metrics"))


async def test_a_listed_network_may_scrape(settings):
    settings.METRICS_ALLOWED_NETWORKS = ["203.0.113.0/24"]
    async with _client("203.0.113.7") as http:
        assert (await http.get("/metrics")).status_code == 200
    async with _client("127.0.0.1") as http:
        await _refused(await http.get("/metrics"))


async def test_the_metrics_token_is_required_from_elsewhere_and_a_wrong_one_is_refused(settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    async with _client("203.0.113.7") as http:
        await _refused(await http.get("/metrics", headers={"Authorization": "Bearer wrong"}))
        await _refused(
            await http.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token2"})
        )
        no_scheme = {"Authorization": "s3cret-metrics-token"}
        await _refused(await http.get("/metrics", headers=no_scheme))
        allowed = await http.get(
            "/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"}
        )
        assert allowed.status_code == 200
        assert "aistory_http_requests_total" in allowed.text


async def test_behind_a_trusted_proxy_the_forwarded_address_decides(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    async with _client("10.0.0.5") as http:
        assert (
            await http.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
        ).status_code == 200
        await _refused(await http.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}))


# --- several processes -----------------------------------------------------------------------

_COUNT_ONE = """
import django
django.setup()
from core import metrics
metrics.http_request("G", "api/game_titles", "GET", 200, 0.01)
metrics.SSE_STREAMS_OPEN.inc()
"""

_RENDER = """
import django
django.setup()
from config.metrics import render
import sys
sys.stdout.write(render().decode())
"""


def _python(code: str, env: dict) -> str:
    done = subprocess.run(
        ["nice", "-n", "15", sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_with_a_multiprocess_directory_the_scrape_adds_up_every_process(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    for _ in range(2):
        _python(_COUNT_ONE, env)
    scraped = Scrape(_python(_RENDER, env))

    labels = {"family": "G", "route": "api/game_titles", "method": "GET", "status": "200"}
    assert scraped.value("aistory_http_requests_total", **labels) == 2
    # Both processes have exited: their open streams are no longer counted.
    assert scraped.value("aistory_sse_streams_open") == 0


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the connection pool is PostgreSQL's (DATABASE_URL)",
)
async def test_the_database_pool_is_in_the_scrape():
    from django.conf import settings

    async with _client() as http:
        assert (await http.get("/api/game_titles")).status_code == 200
        scraped = await scrape(http)
    size = scraped.value("aistory_db_pool_connections", alias="default")
    in_use = scraped.value("aistory_db_pool_connections_in_use", alias="default")
    waiting = scraped.value("aistory_db_pool_requests_waiting", alias="default")
    assert 1 <= size <= settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]
    assert 0 <= in_use <= size
    assert waiting == 0
