"""A deploy, seen from outside: SIGTERM sent to `python -m config.serve_uvicorn` while a reply
streams and a socket is open (config/shutdown.py, README "Production shape").

- the server stops accepting connections at once, lets the reply stream to its end, stores
  it, and exits 0;
- a reply that outlives the grace (`SHUTDOWN_GRACE_SECONDS`, set low here) is stored marked
  stopped, and its SSE stream ends with `finish` and `[DONE]`;
- an open game socket is closed with 1012 ("service restart") at once: it does not hold the
  process for the grace.

Each test starts its own server (the signal ends it) on the test database; the model is the
fake of tests/test_cross_process.py, which holds a reply in flight until the test releases
it. Runs on SQLite or, with DATABASE_URL and REDIS_URL, on PostgreSQL and Redis.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import threading
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from chats.models import Message, MessageRole
from config import shutdown
from config.compat import uvicorn as compat_uvicorn
from tests.factories import GameSessionFactory
from tests.live import LiveServer, require_shared_services, wait_for_other_sessions_to_end
from tests.sse import DONE
from tests.test_cross_process import (
    TAIL,
    TIMEOUT,
    HoldingFakeOpenAI,
    ask,
    has_text,
    new_chat,
    read_stream,
    run,
    until,
    ws_url,
)

pytestmark = pytest.mark.django_db(transaction=True)
BASE_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def fake_model():
    server = HoldingFakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def model(fake_model):
    fake_model.forget_script()
    yield fake_model
    fake_model.forget_script()


@pytest.fixture
def start_server(django_db_blocker, tmp_path, fake_model):
    """Start a server of its own (the production entry point) with extra settings; it is
    ended after the test whatever happened."""
    from django.db import connection

    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.fail("the live server needs the test database in a file, not in memory")
    started: list[LiveServer] = []

    def start(server_module: str = "config.serve_uvicorn", **env: str) -> LiveServer:
        server = LiveServer(
            db_name=connection.settings_dict["NAME"],
            log_path=tmp_path / f"server-{len(started)}.log",
            server_module=server_module,
            extra_env={"LIVE_SERVER_AI_BASE_URL": fake_model.base_url, **env},
        )
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
    with django_db_blocker.unblock():
        wait_for_other_sessions_to_end(connection)


def terminate(server: LiveServer) -> None:
    server.process.send_signal(signal.SIGTERM)


async def exit_code(server: LiveServer) -> int:
    try:
        return await asyncio.to_thread(server.process.wait, TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the server did not exit within {TIMEOUT:.0f} s") from None


async def refuses_connections(server: LiveServer) -> None:
    """Wait until a new connection to the server is refused (its listening socket closed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while True:
        try:
            async with httpx.AsyncClient(timeout=2) as fresh:
                await fresh.get(f"{server.url}/api/health")
        except httpx.ConnectError:
            return
        except httpx.TransportError:
            pass
        assert loop.time() < deadline, "the server still accepts connections"
        await asyncio.sleep(0.05)


def assistant_replies(chat_id: str) -> list[tuple[str, str, bool]]:
    messages = Message.objects.filter(chat_id=chat_id, role=MessageRole.ASSISTANT)
    return [(m.client_id, m.content, m.stopped) for m in messages.order_by("pk")]


def test_a_reply_streaming_at_sigterm_finishes_is_stored_and_the_server_exits_0(
    start_server, model
):
    server = start_server()
    found = {}

    async def scenario():
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            chat_id = await new_chat(http, server)
            held = model.hold_reply()
            try:
                stream = await read_stream(
                    http, "POST", f"{server.url}/api/chats/{chat_id}", **ask("Go")
                )
                await until(lambda: has_text(stream), "text", stream=stream)
                terminate(server)
                # No new connection is accepted, while the reply goes on.
                await refuses_connections(server)
                assert not stream.reading.done(), stream.types()[-3:]
                held.release.set()
                await asyncio.wait_for(stream.reading, TIMEOUT)
            finally:
                held.release.set()
            found.update(chat_id=chat_id, stream=stream, code=await exit_code(server))

    run(scenario(), server)
    stream = found["stream"]
    assert stream.done and stream.events[-1] == (None, DONE), stream.events[-3:]
    assert stream.types()[-2:] == ["text-end", "finish"], stream.types()
    assert "error" not in stream.types()
    assert stream.text().strip().endswith(TAIL)
    assert found["code"] == 0, server.log_tail()
    # Stored whole under the announced id, not marked stopped.
    assert assistant_replies(found["chat_id"]) == [
        (stream.parts()[0]["messageId"], stream.text().strip(), False)
    ]


def test_a_reply_outliving_the_grace_is_stored_as_stopped_and_its_stream_finishes(
    start_server, model
):
    server = start_server(SHUTDOWN_GRACE_SECONDS="1")
    found = {}

    async def scenario():
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            chat_id = await new_chat(http, server)
            held = model.hold_reply()  # never released: only the grace ends it
            try:
                stream = await read_stream(
                    http, "POST", f"{server.url}/api/chats/{chat_id}", **ask("Go")
                )
                await until(lambda: has_text(stream), "text", stream=stream)
                terminate(server)
                await asyncio.wait_for(stream.reading, TIMEOUT)
                assert await asyncio.to_thread(held.disconnected.wait, TIMEOUT), (
                    "the server did not close its call to the model"
                )
                assert not held.release.is_set()
            finally:
                held.release.set()
            found.update(chat_id=chat_id, stream=stream, code=await exit_code(server))

    run(scenario(), server)
    stream = found["stream"]
    assert stream.done and stream.events[-1] == (None, DONE), stream.events[-3:]
    assert stream.types()[-2:] == ["text-end", "finish"], stream.types()
    assert "error" not in stream.types()
    text = stream.text().strip()
    assert text and TAIL.split(" ")[-1] not in text
    assert found["code"] == 0, server.log_tail()
    # What was generated is stored, marked stopped, under the announced id.
    assert assistant_replies(found["chat_id"]) == [(stream.parts()[0]["messageId"], text, True)]


def test_an_open_game_socket_is_closed_with_1012_and_does_not_hold_the_process(start_server, model):
    # A grace longer than the test's patience: were the socket to hold its connection until
    # the server's timeout, the exit would come too late.
    server = start_server(SHUTDOWN_GRACE_SECONDS=str(2 * TIMEOUT))
    sid = str(GameSessionFactory().pk)
    found = {}

    async def scenario():
        async with connect(ws_url(server, f"/ws?sessionId={sid}"), open_timeout=TIMEOUT) as ws:
            await ws.ping()
            terminate(server)
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(TIMEOUT):
                    while True:
                        await ws.recv()
            found.update(code=ws.close_code, reason=ws.close_reason)
        found["exit"] = await exit_code(server)

    run(scenario(), server)
    assert found["code"] == 1012, found
    assert found["exit"] == 0, server.log_tail()


def test_with_workers_a_reply_streaming_at_sigterm_finishes_and_the_server_exits_0(
    start_server, model
):
    require_shared_services("a server of several processes")
    server = start_server(server_module="tests.serve_workers")
    found = {}

    async def scenario():
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            chat_id = await new_chat(http, server)
            held = model.hold_reply()
            try:
                stream = await read_stream(
                    http, "POST", f"{server.url}/api/chats/{chat_id}", **ask("Go")
                )
                await until(lambda: has_text(stream), "text", stream=stream)
                terminate(server)  # the supervisor, which passes it on to its workers
                await refuses_connections(server)
                assert not stream.reading.done(), stream.types()[-3:]
                held.release.set()
                await asyncio.wait_for(stream.reading, TIMEOUT)
            finally:
                held.release.set()
            found.update(chat_id=chat_id, stream=stream, code=await exit_code(server))

    run(scenario(), server)
    stream = found["stream"]
    assert stream.done and stream.types()[-2:] == ["text-end", "finish"], stream.types()
    assert stream.text().strip().endswith(TAIL)
    assert found["code"] == 0, server.log_tail()
    assert assistant_replies(found["chat_id"]) == [
        (stream.parts()[0]["messageId"], stream.text().strip(), False)
    ]


# --- the pieces, in this process -----------------------------------------------------------


def test_the_wrapper_answers_the_lifespan_protocol_and_passes_every_other_scope_on():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])

    async def scenario():
        incoming = asyncio.Queue()
        for kind in ("lifespan.startup", "lifespan.shutdown"):
            incoming.put_nowait({"type": kind})
        sent = []

        async def send(message):
            sent.append(message["type"])

        wrapped = shutdown.ShutdownAware(app)
        await wrapped({"type": "lifespan"}, incoming.get, send)
        await wrapped({"type": "http"}, incoming.get, send)
        return sent

    # Off the main thread, as chain_signal_handlers leaves this process's handlers alone there.
    result = []
    worker = threading.Thread(target=lambda: result.append(asyncio.run(scenario())))
    worker.start()
    worker.join(TIMEOUT)
    assert result == [["lifespan.startup.complete", "lifespan.shutdown.complete"]]
    assert seen == ["http"]
    assert not shutdown.is_shutting_down()


def test_the_server_waits_for_the_grace_and_the_time_to_store_what_it_stopped(settings):
    settings.SHUTDOWN_GRACE_SECONDS = 12
    assert shutdown.server_timeout() == 12 + shutdown.STORE_MARGIN_SECONDS


def test_the_uvicorn_workaround_was_checked_for_the_installed_uvicorn():
    """Fails when the uvicorn pin moves: read config/compat/uvicorn.py again (does the
    supervisor still keep its listening socket through the drain? are `Config.bind_socket`,
    `Multiprocess(config, sockets=...)` and `should_exit` still there?), then add the version
    to TESTED. Until then the workers test above shows what stock uvicorn does."""
    import uvicorn

    assert compat_uvicorn.ACTIVE, (uvicorn.__version__, compat_uvicorn.TESTED)
    pins = (BASE_DIR / "requirements.txt").read_text().splitlines()
    [pinned] = [line.split("==", 1)[1] for line in pins if line.startswith("uvicorn==")]
    assert pinned in compat_uvicorn.TESTED, (pinned, compat_uvicorn.TESTED)


@pytest.mark.parametrize(("active", "workers"), [(False, 2), (True, 1)])
def test_the_uvicorn_workaround_is_stock_uvicorn_run_unless_it_applies(
    active, workers, monkeypatch
):
    """On a uvicorn it was not checked for, or with one process, `run` is `uvicorn.run`."""
    import uvicorn

    calls = []
    monkeypatch.setattr(compat_uvicorn, "ACTIVE", active)
    monkeypatch.setattr(uvicorn, "run", lambda **options: calls.append(options))
    compat_uvicorn.run(app="x:y", workers=workers)
    assert calls == [{"app": "x:y", "workers": workers}]
