"""The server's Prometheus instruments, and the small calls that move them.

Defined here, at the bottom layer, so that the model client (`ai`), the turn engine, the SSE
transport, the rate counters and the task worker can each count with one line and no import
of the HTTP layer; `config/metrics.py` serves them at `/metrics`.

Every label takes values from a closed set (the family table, URL patterns, HTTP methods
Django knows, task names, error codes), never from what a client sends: a label value that a
client could choose would let it grow the scrape without bound.

With `PROMETHEUS_MULTIPROC_DIR` set (before this module is imported: prometheus-client reads
it at import), each process writes its values to files in that directory and `/metrics` adds
up every process's, so `--workers N` and the task worker report as one. Gauges of things
that are open now (streams, sockets, turns) count only live processes (`livesum`); a process
that exits cleanly removes its files for them (`atexit`).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import time
from collections.abc import AsyncIterator, Awaitable

from django.conf import settings
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess

# prometheus-client reads the variable itself to pick its value store; settings read the same.
MULTIPROCESS = bool(settings.PROMETHEUS_MULTIPROC_DIR)

# The instruments of this server, apart from prometheus-client's default registry (whose
# process collectors would report one random worker's process in multiprocess mode).
REGISTRY = CollectorRegistry(auto_describe=True)

# Seconds: from a fast API answer to a long model call.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

HTTP_REQUESTS = Counter(
    "aistory_http_requests_total",
    "HTTP requests answered, by API family, route (URL pattern), method and status.",
    ["family", "route", "method", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "aistory_http_request_duration_seconds",
    "Seconds until the response starts (a stream's headers), by family, route and method.",
    ["family", "route", "method"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
SSE_STREAMS_OPEN = Gauge(
    "aistory_sse_streams_open",
    "Server-Sent Event streams being relayed now (family A chat replies).",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
SOCKETS_CONNECTED = Gauge(
    "aistory_websockets_connected",
    "WebSocket connections accepted and still open, by family.",
    ["family"],
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
MODEL_CALLS = Counter(
    "aistory_model_calls_total",
    "Model calls, by task, provider and outcome (ok, cancelled, or the error code).",
    ["task", "provider", "outcome"],
    registry=REGISTRY,
)
MODEL_CALL_SECONDS = Histogram(
    "aistory_model_call_duration_seconds",
    "Seconds a model call took (a stream: until its last piece), by task and provider.",
    ["task", "provider"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
DB_BATCH_UNITS = Histogram(
    "aistory_db_batch_units",
    "Units of database work run together in one transaction (core/db_batch.py), per batch.",
    buckets=(1, 2, 4, 8, 16, 32, 64),
    registry=REGISTRY,
)
MODEL_FIRST_TOKEN_SECONDS = Histogram(
    "aistory_model_time_to_first_token_seconds",
    "Seconds from a streamed model call to its first piece, by task and provider.",
    ["task", "provider"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
MODEL_TOKENS = Counter(
    "aistory_model_tokens_relayed_total",
    "Pieces of streamed model replies relayed (about one token each), by task and provider.",
    ["task", "provider"],
    registry=REGISTRY,
)
TURNS_IN_FLIGHT = Gauge(
    "aistory_ai_turns_in_flight",
    "AI turns (model replies) running now.",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
TURNS_REFUSED = Counter(
    "aistory_ai_turns_refused_total",
    "AI turns refused before they started, by reason (busy, conversation_busy, rate_limited).",
    ["reason"],
    registry=REGISTRY,
)
RATE_LIMIT_REFUSALS = Counter(
    "aistory_rate_limit_refusals_total",
    "Events counted past their limit (core.ratelimit), by limit: a refused request, turn or "
    "login attempt.",
    ["limit"],
    registry=REGISTRY,
)
TASKS_FINISHED = Counter(
    "aistory_tasks_finished_total",
    "Background tasks finished by a worker, by task and status (SUCCESSFUL, FAILED).",
    ["task", "status"],
    registry=REGISTRY,
)

# The methods a route label may carry; any other method is counted as "other".
HTTP_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)


def http_request(family: str, route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered HTTP request."""
    method = method if method in HTTP_METHODS else "other"
    HTTP_REQUESTS.labels(family, route, method, str(status)).inc()
    HTTP_LATENCY.labels(family, route, method).observe(seconds)


def _outcome(exc: BaseException) -> str:
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        return "cancelled"
    code = getattr(exc, "code", None)  # a DomainError's code: one of a closed StrEnum
    return str(code).lower() if code else "error"


async def model_call[T](task: str, provider: str, call: Awaitable[T]) -> T:
    """Await one model call, counting it by outcome and timing it."""
    started = time.perf_counter()
    outcome = "ok"
    try:
        return await call
    except BaseException as exc:
        outcome = _outcome(exc)
        raise
    finally:
        MODEL_CALLS.labels(task, provider, outcome).inc()
        MODEL_CALL_SECONDS.labels(task, provider).observe(time.perf_counter() - started)


async def model_stream[T](task: str, provider: str, stream: AsyncIterator[T]) -> AsyncIterator[T]:
    """Relay a streamed model call, timing its first piece and counting its pieces.

    Closing this stream early (a stopped turn) closes the provider's stream too, as leaving
    the provider's own iterator did."""
    started = time.perf_counter()
    outcome = "ok"
    pieces = 0
    try:
        async for piece in stream:
            if pieces == 0:
                MODEL_FIRST_TOKEN_SECONDS.labels(task, provider).observe(
                    time.perf_counter() - started
                )
            pieces += 1
            yield piece
    except BaseException as exc:
        outcome = _outcome(exc)
        raise
    finally:
        MODEL_CALLS.labels(task, provider, outcome).inc()
        MODEL_CALL_SECONDS.labels(task, provider).observe(time.perf_counter() - started)
        if pieces:
            MODEL_TOKENS.labels(task, provider).inc(pieces)
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()


async def sse_stream[T](body: AsyncIterator[T]) -> AsyncIterator[T]:
    """Relay an SSE body, counting it open from its first read to its end or its client's
    departure."""
    SSE_STREAMS_OPEN.inc()
    try:
        async for chunk in body:
            yield chunk
    finally:
        SSE_STREAMS_OPEN.dec()
        close = getattr(body, "aclose", None)
        if close is not None:
            await close()


def turn_refused(reason: str) -> None:
    TURNS_REFUSED.labels(reason).inc()


def rate_limited(limit: str) -> None:
    RATE_LIMIT_REFUSALS.labels(limit).inc()


def task_finished(sender, task_result, **kwargs) -> None:
    """Receiver of django.tasks' `task_finished` signal, which the task worker sends."""
    TASKS_FINISHED.labels(task_result.task.module_path, str(task_result.status)).inc()


def watch_tasks() -> None:
    """Count the tasks this process finishes (the task worker calls this at start)."""
    from django.tasks.signals import task_finished as finished

    finished.connect(task_finished, dispatch_uid="core.metrics.task_finished")


if MULTIPROCESS:
    # A process that exits cleanly takes its open streams, sockets and turns out of the sums;
    # a killed one's stay until the directory is emptied (README: clear it at each start).
    atexit.register(lambda: multiprocess.mark_process_dead(os.getpid()))
