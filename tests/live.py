"""The real ASGI application served in a process of its own, for clients that need a real
socket (the Vercel AI SDK in Node, httpx streaming, dropped connections, frame limits).

The server is a fresh `python -m config.serve_uvicorn` process, the production server entry
point, as `make run` and production start it (a test of several processes names another
module taking the same options: tests/serve_workers.py). It is not a fork of the test
process: a fork would inherit the test run's open database connections and pool, event loops
and threads. It runs `tests.live_settings` (the test settings) on the test run's database,
whose name is known only once pytest-django has created it, and inherits the environment, so with
`DATABASE_URL` and `REDIS_URL` set it uses the same PostgreSQL test database, the same Redis
cache and the same channel layer as the tests. Its tables are the test database's, so tests
that use it must be `django_db(transaction=True)`: a test wrapped in a transaction would hide
its rows from the server, and on SQLite hold the write lock the server needs.

It listens on a port the system picks (`-p 0`), read back from the server's log, and is ready
when `GET /api/health` answers "running". `stop` always ends the process.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
# uvicorn's start-up line.
LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")
START_TIMEOUT = 60.0
# The server's PostgreSQL sessions carry this name (see `wait_for_other_sessions_to_end`).
APPLICATION_NAME = "aistory-live-server"
# Seconds between the offline provider's words: a reply takes about a second, long enough
# to drop the stream after its first parts and resume it while the reply is in flight.
OFFLINE_DELAY = 0.02
# What `make run` and production serve with.
SERVER_MODULE = "config.serve_uvicorn"


class LiveServer:
    """One server process serving `config.asgi:application` on 127.0.0.1."""

    def __init__(
        self,
        *,
        db_name: str,
        log_path: Path,
        offline_delay: float = OFFLINE_DELAY,
        server_module: str = SERVER_MODULE,
        extra_env: dict[str, str] | None = None,
    ):
        self.extra_env = extra_env or {}
        self.db_name = db_name
        self.server_module = server_module
        self.log_path = log_path
        self.offline_delay = offline_delay
        self.process: subprocess.Popen | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.live_settings",
            "LIVE_SERVER_DB_NAME": str(self.db_name),
            "LIVE_SERVER_AI_OFFLINE_DELAY": str(self.offline_delay),
            "LIVE_SERVER_APPLICATION_NAME": APPLICATION_NAME,
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        command = [sys.executable, "-m", self.server_module, "-b", "127.0.0.1", "-p", "0"]
        command.append("config.asgi:application")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the live server exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            if self.port is None:
                found = LISTENING.search(self.log_path.read_text(errors="replace"))
                if found:
                    self.port = int(found.group(1))
            if self.port is not None and self._healthy():
                return
            time.sleep(0.1)
        raise RuntimeError(
            f"the live server did not answer in {START_TIMEOUT:.0f} s:\n{self.log_tail()}"
        )

    def _healthy(self) -> bool:
        try:
            response = httpx.get(f"{self.url}/api/health", timeout=2)
        except httpx.TransportError:
            return False
        return response.status_code == 200 and response.json() == "running"

    def stop(self) -> None:
        """End the process: SIGTERM, then SIGKILL if it has not gone within 10 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 60) -> str:
        """The end of the server's log (stdout and stderr), for failure messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def shared_services_missing() -> list[str]:
    """The shared services of the production shape that this run lacks: PostgreSQL
    (`DATABASE_URL`) and Redis (`REDIS_URL`), which several server processes share."""
    from django.conf import settings

    missing = []
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        missing.append("PostgreSQL (DATABASE_URL)")
    if not settings.REDIS_URL:
        missing.append("Redis (REDIS_URL)")
    return missing


def require_shared_services(what: str) -> None:
    """Skip `what` on a developer's machine without PostgreSQL and Redis; fail it under CI
    (the `CI` variable set, as CI services do), which must run it."""
    missing = shared_services_missing()
    if not missing:
        return
    reason = f"{what} needs {' and '.join(missing)}"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must provide them", pytrace=False)
    pytest.skip(reason)


def wait_for_other_sessions_to_end(connection, timeout: float = 10.0) -> None:
    """On PostgreSQL, wait until the stopped server's sessions (named by tests.live_settings)
    have left the test database, so that pytest-django can drop it at the end of the run."""
    if connection.vendor != "postgresql":
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND application_name = %s",
                [APPLICATION_NAME],
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.1)


@contextlib.contextmanager
def running(server: LiveServer, django_db_blocker):
    """The server started, then stopped and its database sessions gone (a fixture's body)."""
    from django.db import connection

    server.start()
    try:
        yield server
    finally:
        server.stop()
        with django_db_blocker.unblock():
            wait_for_other_sessions_to_end(connection)


@pytest.fixture(scope="session")
def asgi_live_server(django_db_setup, django_db_blocker, tmp_path_factory):
    """A server process serving the app on the test database (see the module docstring)."""
    from django.db import connection

    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.fail("the live server needs the test database in a file, not in memory")
    server = LiveServer(
        db_name=connection.settings_dict["NAME"],
        log_path=tmp_path_factory.mktemp("live-server") / "server.log",
    )
    with running(server, django_db_blocker):
        yield server
