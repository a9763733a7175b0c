"""`/metrics` in the Prometheus text format, and what feeds it from the HTTP and socket side.

- `RequestMetricsMiddleware`, first in settings.MIDDLEWARE, counts every answer the chain
  made by family (config/families.py), route (the URL pattern that matched, `unmatched` for
  none: never the raw path, which a client could make unbounded), method and status, and
  times it until the response starts (a stream's headers; an SSE stream's life is the
  `aistory_sse_streams_open` gauge). Bodies refused at the ASGI boundary
  (config/body_limit.py) never reach the chain and are not counted here.
- `SocketMetricsMiddleware`, a plain ASGI middleware around the WebSocket application
  (config/asgi.py), counts the sockets accepted and still open, by family.
- `metrics_view` answers only callers from METRICS_ALLOWED_NETWORKS (the socket peer, or the
  address TRUSTED_PROXY_COUNT proxies saw: core.ratelimit.client_address) or with
  `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time); anyone else gets the
  same 404 as a route that does not exist, in family G's body (`{"error": "Not found"}`).

The instruments live in core/metrics.py. With PROMETHEUS_MULTIPROC_DIR set, the scrape adds up
the files every process wrote there (prometheus-client's multiprocess mode), so one scrape of
any worker reports them all. The task queue's depth is read from the database at each scrape,
so it is the whole deployment's, whichever process answers.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from functools import lru_cache

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from config.families import GAME, MOVIE, family_for_path
from config.requestlog import request_log
from core import logcontext, metrics
from core.ratelimit import client_address

logger = logging.getLogger("config.metrics")

NO_FAMILY = "none"
UNMATCHED = "unmatched"
# The WebSocket routes (realtime/routing.py) and their families; /ws lies outside /api/.
SOCKET_FAMILIES = {"/ws": GAME, "/api/v1/websocket": MOVIE}


class RequestMetricsMiddleware:
    """Count and time every HTTP answer by family, route, method and status."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self._acall(request)
        started = time.perf_counter()
        response = self.get_response(request)
        _count(request, response, started)
        return response

    async def _acall(self, request: HttpRequest):
        started = time.perf_counter()
        reset = logcontext.turn_id.set(None)
        try:
            response = await self.get_response(request)
            _count(request, response, started)
        finally:
            logcontext.turn_id.reset(reset)
        return response


def _count(request: HttpRequest, response: HttpResponse, started: float) -> None:
    match = request.resolver_match
    family = family_for_path(request.path) or NO_FAMILY
    route = match.route if match is not None else UNMATCHED
    seconds = time.perf_counter() - started
    metrics.http_request(family, route, request.method or "", response.status_code, seconds)
    request_log(request, response, family=family, route=route, seconds=seconds)


class SocketMetricsMiddleware:
    """Count a WebSocket connection as open from its `websocket.accept` until it ends."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        counting = _CountingSend(
            send,
            metrics.SOCKETS_CONNECTED.labels(SOCKET_FAMILIES.get(scope.get("path", ""), NO_FAMILY)),
        )
        try:
            return await self.app(scope, receive, counting)
        finally:
            if counting.accepted:
                counting.gauge.dec()


class _CountingSend:
    """A socket's `send`, counting it open once its accept went out. A slotted object rather
    than a closure: it lives as long as the socket, and a closure is a function, its cells
    and their tuple for the garbage collector to walk (bench/README.md, "fanout.py")."""

    __slots__ = ("accepted", "gauge", "send")

    def __init__(self, send, gauge):
        self.send = send
        self.gauge = gauge
        self.accepted = False

    async def __call__(self, message):
        if not self.accepted and message["type"] == "websocket.accept":
            await self.send(message)
            self.accepted = True
            self.gauge.inc()
            return
        await self.send(message)


# --- the scrape ------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def scrape_allowed(request: HttpRequest) -> bool:
    """From an allowed network, or carrying the metrics token."""
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return True
    address = client_address(request.META, settings.TRUSTED_PROXY_COUNT)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in _networks(tuple(settings.METRICS_ALLOWED_NETWORKS)))


class TaskQueueCollector(Collector):
    """The tasks waiting for a worker, read from the task table at each scrape (the
    deployment's queue, whichever process answers)."""

    def collect(self):
        from django.tasks.base import TaskResultStatus
        from django_tasks_db.models import DBTaskResult

        try:
            ready = DBTaskResult.objects.filter(status=TaskResultStatus.READY).count()
        except DatabaseError:
            logger.warning("Task queue depth unavailable: the database did not answer")
            return
        queued = GaugeMetricFamily(
            "aistory_tasks_queued", "Background tasks ready to run, waiting for a worker."
        )
        queued.add_metric([], ready)
        yield queued


class DatabasePoolCollector(Collector):
    """The PostgreSQL connection pool of the process that answers the scrape (psycopg_pool's
    `get_stats()`, reached through the database wrapper's `pool` property): connections open,
    in use and the requests waiting for one. Each process has its own pool (DB_POOL_MAX), so
    with several workers a scrape shows the one that answered; the pool's own counters
    (`requests_waiting`) say whether requests queue for a connection."""

    def collect(self):
        from django.db import connections

        size = GaugeMetricFamily(
            "aistory_db_pool_connections", "Connections the pool holds open.", labels=["alias"]
        )
        in_use = GaugeMetricFamily(
            "aistory_db_pool_connections_in_use",
            "Connections lent to a request right now.",
            labels=["alias"],
        )
        waiting = GaugeMetricFamily(
            "aistory_db_pool_requests_waiting",
            "Requests waiting for a connection right now.",
            labels=["alias"],
        )
        for alias in connections:
            pool = getattr(connections[alias], "pool", None)  # PostgreSQL with a pool only
            if pool is None:
                continue
            stats = pool.get_stats()
            open_now = stats.get("pool_size", 0)
            size.add_metric([alias], open_now)
            in_use.add_metric([alias], open_now - stats.get("pool_available", 0))
            waiting.add_metric([alias], stats.get("requests_waiting", 0))
        yield from (size, in_use, waiting)


def render() -> bytes:
    """The whole scrape: this process's instruments (or every process's, in multiprocess
    mode) and the values read at scrape time."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TaskQueueCollector())
    registry.register(DatabasePoolCollector())
    scraped = generate_latest(registry)
    if settings.PROMETHEUS_MULTIPROC_DIR:
        merged = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(merged, path=settings.PROMETHEUS_MULTIPROC_DIR)
        return generate_latest(merged) + scraped
    return generate_latest(metrics.REGISTRY) + scraped


@csrf_exempt  # a refused POST gets the same 404, not a CSRF page that shows the route exists
def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics for the allowed; the 404 of an unknown route for anyone else."""
    if not scrape_allowed(request):
        return JsonResponse({"error": "Not found"}, status=404)
    if request.method not in ("GET", "HEAD"):
        response = JsonResponse({"error": "Method not allowed"}, status=405)
        response["Allow"] = "GET, HEAD"
        return response
    return HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)
