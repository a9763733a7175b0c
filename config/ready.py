"""`GET /api/ready`: may this process take traffic? (`/api/health` only says it runs.)

Three checks, run at once, each in a thread of its own and given READY_CHECK_TIMEOUT seconds
(a database that does not answer makes its pool wait DB_POOL_TIMEOUT; a load balancer's
probe must not wait that long):

- database: a `SELECT 1` on the default database;
- redis (only when REDIS_URL is set): a value written to and read back from the cache, the
  same Redis the channel layer uses;
- migrations: none of the code's migrations is unapplied (`MigrationExecutor.migration_plan`),
  so a process of a new release is not ready before `migrate` has run;
- process: "stopping" once a SIGTERM has come (config/shutdown.py), for a probe that still
  reaches a draining process over an open connection.

200 `{"status": "ready", "checks": {...}}` when all pass; else 503 with `Retry-After`, the
checks that failed named in `checks` ("down", "unapplied", or "unknown" for migrations when
the database did not answer) and family A's error fields beside them, since the path is
family A's, as `/api/health` is (config/families.py): `{"statusCode": 503, "statusMessage":
"Not ready: database", "status": "not ready", "checks": {...}}`. No check says why it failed
(hosts, errors): the route is public, as a load balancer's probe needs; the log says.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from config import shutdown
from config.api.assistant import AsyncAssistantApiView

logger = logging.getLogger("config.ready")

OK = "ok"
DOWN = "down"
UNAPPLIED = "unapplied"
UNKNOWN = "unknown"
STOPPING = "stopping"
RETRY_AFTER_SECONDS = 5


def database_check() -> str:
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        # This thread is not a request's: give its connection back (to the pool) now.
        connection.close()
    return OK


def redis_check() -> str:
    key = f"ready:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    found = cache.get(key)
    cache.delete(key)
    if found != "1":
        raise RuntimeError("the cache did not return the value written")
    return OK


def migrations_check() -> str:
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    finally:
        connection.close()
    if plan:
        logger.warning("Not ready: %d migration(s) unapplied", len(plan))
        return UNAPPLIED
    return OK


async def _run(name: str, check: Callable[[], str], failed: str) -> tuple[str, str]:
    try:
        async with asyncio.timeout(settings.READY_CHECK_TIMEOUT):
            # Not the request's thread: a check that hangs must not hold the request's thread.
            return name, await sync_to_async(check, thread_sensitive=False)()
    except Exception as exc:
        logger.warning("Not ready: the %s check failed (%r)", name, exc)
        return name, failed


async def readiness() -> dict[str, str]:
    """Each check's result, by name."""
    checks = [_run("database", database_check, DOWN)]
    if settings.REDIS_URL:
        checks.append(_run("redis", redis_check, DOWN))
    checks.append(_run("migrations", migrations_check, UNKNOWN))
    results = dict(await asyncio.gather(*checks))
    if shutdown.is_shutting_down():
        # SIGTERM came: replies in flight are finishing; a load balancer sends no new ones.
        results["process"] = STOPPING
    return results


class ReadyApi(AsyncAssistantApiView):
    """Ready to serve: the database answers, Redis answers (when used), no migration is
    unapplied."""

    authentication_classes = []
    throttle_classes = []

    @extend_schema(
        tags=["assistant"],
        responses={
            200: OpenApiResponse(description='{"status": "ready", "checks": {...}}'),
            503: OpenApiResponse(
                description="Not ready: the failed checks, family A's error fields, Retry-After"
            ),
        },
        summary="Readiness check (database, Redis, migrations)",
    )
    async def get(self, request):
        checks = await readiness()
        failed = [name for name, result in checks.items() if result != OK]
        if not failed:
            return Response({"status": "ready", "checks": checks})
        body = {
            "statusCode": 503,
            "statusMessage": "Not ready: " + ", ".join(failed),
            "status": "not ready",
            "checks": checks,
        }
        return Response(body, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
