"""Two server processes on one PostgreSQL and one Redis, as production runs several workers
behind a load balancer (ARCHITECTURE.md), seen from outside.

Both are `python -m config.serve_uvicorn` processes (tests/live.py) on the test run's own
database and Redis. A reply started on process A is resumed on process B from its first part
(`GET /api/chats/{id}/stream`, CONTRACTS.md "Chats"), is busy there (a second reply answers
409), and is stopped from B (`DELETE /api/chats/{id}/stream`): the turn running on A ends
and stores what it had, marked stopped. A message sent through A reaches the game socket
(`/ws`) and the movie socket (`/api/v1/websocket`) of B (CONTRACTS.md "Realtime").

The model is a fake OpenAI-compatible server in this process (tests/fake_openai.py) that
holds a reply in flight until the test releases it: it sends a word every `TICK` seconds
meanwhile, so the reply is still running whatever the machine's speed, and a stop (which the
turn notices when it logs its next piece) lands at once. Without PostgreSQL and Redis these
tests skip; under CI they fail.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field

import httpx
import pytest
import redis
from django.conf import settings
from websockets.asyncio.client import connect

from accounts.services import tokens_for_user
from chats.models import Chat
from projects.models import Project
from tests.factories import GameSessionFactory, UserFactory
from tests.fake_openai import CHAT, FakeOpenAI, _Handler, _Server, _Step
from tests.live import (
    LiveServer,
    require_shared_services,
    running,
    wait_for_other_sessions_to_end,
)
from tests.sse import DONE, SSEStream, parse_sse, parse_sse_text

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 30.0
POLL = 0.02
# Seconds between the words of a held reply; a held reply ends on its own only after
# HELD_MAX_WORDS (a minute or so), long after any wait of these tests has given up.
TICK = 0.05
HELD_MAX_WORDS = 1200
TAIL = "and that was the whole story."
HELD = "held"


# --- a model that holds its reply ----------------------------------------------------------


@dataclass
class HeldReply:
    """A streamed reply the fake sends word by word until `release` is set, then ends with
    TAIL. `disconnected` is set when the server that asked closed the stream first."""

    release: threading.Event = field(default_factory=threading.Event)
    disconnected: threading.Event = field(default_factory=threading.Event)


class _HoldingHandler(_Handler):
    def _chat(self, body: dict, step: _Step | None) -> None:
        if step is None or step.kind != HELD or not body.get("stream"):
            super()._chat(body, step)
            return
        held: HeldReply = step.payload["held"]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        try:
            self._send_event(self._chunk(body, {"role": "assistant", "content": ""}))
            for n in range(1, HELD_MAX_WORDS + 1):
                self._send_event(self._chunk(body, {"content": f"word{n} "}))
                if held.release.wait(TICK) or self.fake._stopping.is_set():
                    break
            for word in TAIL.split(" "):
                self._send_event(self._chunk(body, {"content": word + " "}))
            self._send_event(self._chunk(body, {}, finish="stop"))
            self._send_event("[DONE]")
            self._send_chunk(b"")
        except OSError:
            # The server closed the upstream call: its turn was stopped.
            self.close_connection = True
            held.disconnected.set()


class HoldingFakeOpenAI(FakeOpenAI):
    """tests/fake_openai.py's server, which can also hold a streamed reply (`hold_reply`)."""

    def start(self) -> HoldingFakeOpenAI:
        handler = type("HoldingHandler", (_HoldingHandler,), {"fake": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def hold_reply(self) -> HeldReply:
        """The next streamed completion is held until its `release` is set."""
        held = HeldReply()
        self._push(_Step(CHAT, HELD, {"held": held}))
        return held

    def forget_script(self) -> None:
        with self._lock:
            for step in self._script:
                if step.kind == HELD:
                    step.payload["held"].release.set()
            self._script.clear()


# --- the two processes ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake_model():
    server = HoldingFakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def servers(django_db_setup, django_db_blocker, tmp_path_factory, fake_model):
    """Processes A and B: the production entry point, one test database, one Redis, their
    dialogue answered by `fake_model`."""
    from django.db import connection

    require_shared_services("serving one reply and one session from two server processes")
    logs = tmp_path_factory.mktemp("cross-process")
    started: list[LiveServer] = []
    try:
        for name in ("a", "b"):
            server = LiveServer(
                db_name=connection.settings_dict["NAME"],
                log_path=logs / f"server-{name}.log",
                extra_env={"LIVE_SERVER_AI_BASE_URL": fake_model.base_url},
            )
            started.append(server.start())
        yield tuple(started)
    finally:
        for server in started:
            server.stop()
        with django_db_blocker.unblock():
            wait_for_other_sessions_to_end(connection)


@pytest.fixture
def model(fake_model):
    """The fake model, with no script left over from another test."""
    fake_model.forget_script()
    yield fake_model
    fake_model.forget_script()


# --- helpers -------------------------------------------------------------------------------


def run(scenario, *servers: LiveServer) -> None:
    """Run the scenario; when it fails, show the end of each server's log with it."""
    try:
        asyncio.run(scenario)
    except BaseException:
        for server in servers:
            print(f"--- {server.url}\n{server.log_tail(30)}")
        raise


@dataclass
class LiveStream(SSEStream):
    """An event stream being read: it fills as parts arrive; `reading` is the reader."""

    reading: asyncio.Task | None = None


async def until(condition, what: str, *, stream: LiveStream | None = None) -> None:
    """Wait for `condition()`; fail after TIMEOUT, or as soon as `stream` (the one whose
    progress is awaited) ended without it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while not condition():
        if stream is not None and stream.reading.done():
            stream.reading.result()  # its error, if it failed
            raise AssertionError(
                f"the stream ended before {what}: HTTP {stream.status_code}, {stream.lines[-4:]}"
            )
        if loop.time() > deadline:
            raise AssertionError(f"no {what} within {TIMEOUT:.0f} s")
        await asyncio.sleep(POLL)


async def read_stream(http: httpx.AsyncClient, method: str, url: str, **kwargs) -> LiveStream:
    """Start reading a response's event stream in the background."""
    stream = LiveStream(status_code=0, headers=httpx.Headers())

    async def read() -> LiveStream:
        async with http.stream(method, url, **kwargs) as response:
            stream.headers = response.headers
            stream.status_code = response.status_code
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                body = (await response.aread()).decode()
                stream.lines = [body] if body else []
                return stream
            pending: list[str] = []
            async for line in response.aiter_lines():
                stream.lines.append(line)
                pending.append(line)
                if line == "":
                    stream.events.extend(parse_sse(pending))
                    pending = []
            stream.events.extend(parse_sse(pending))
        return stream

    stream.reading = asyncio.create_task(read())
    return stream


def has_text(stream: LiveStream) -> bool:
    return "text-delta" in stream.types()


async def new_chat(http: httpx.AsyncClient, server: LiveServer) -> str:
    """A chat of the client's cookie identity, created on `server`."""
    response = await http.post(f"{server.url}/api/chats", json={"prompt": "Tell me a story"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def ask(content: str) -> dict:
    return {"json": {"messages": [{"role": "user", "content": content}]}}


async def wait_until_idle(http: httpx.AsyncClient, server: LiveServer, chat_id: str) -> None:
    """Wait until `server` says no reply of the chat is in flight (204): the process that
    ran the turn closes its log just after the turn's last part."""
    last: list[int] = []

    async def idle() -> bool:
        response = await http.get(f"{server.url}/api/chats/{chat_id}/stream")
        last[:] = [response.status_code]
        return response.status_code == 204

    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not await idle():
        assert asyncio.get_running_loop().time() < deadline, f"still in flight: {last}"
        await asyncio.sleep(0.1)


async def assistant_messages(
    http: httpx.AsyncClient, server: LiveServer, chat_id: str
) -> list[dict]:
    response = await http.get(f"{server.url}/api/chats/{chat_id}")
    assert response.status_code == 200, response.text
    return [m for m in response.json()["messages"] if m["role"] == "assistant"]


# --- family A: one reply, two processes ----------------------------------------------------


def test_a_reply_running_on_one_process_resumes_whole_on_the_other_and_is_busy_there(
    servers, model
):
    a, b = servers

    async def scenario():
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            chat_id = await new_chat(http, a)
            held = model.hold_reply()
            try:
                on_a = await read_stream(http, "POST", f"{a.url}/api/chats/{chat_id}", **ask("Go"))
                await until(lambda: has_text(on_a), "text on A", stream=on_a)
                start = on_a.parts()[0]
                assert start["type"] == "start", on_a.parts()

                # B knows the reply runs on A: a second one is refused, and nothing is stored.
                busy = await http.post(f"{b.url}/api/chats/{chat_id}", **ask("Me too"))
                assert busy.status_code == 409, busy.text
                assert busy.json()["statusCode"] == 409

                on_b = await read_stream(http, "GET", f"{b.url}/api/chats/{chat_id}/stream")
                await until(lambda: has_text(on_b), "resumed text on B", stream=on_b)
                assert on_b.status_code == 200
                assert on_b.headers["content-type"].startswith("text/event-stream")
                held.release.set()
                await asyncio.wait_for(asyncio.gather(on_a.reading, on_b.reading), TIMEOUT)
            finally:
                held.release.set()

            assert on_a.done and on_b.done, (on_a.events[-3:], on_b.events[-3:])
            # From the first part to [DONE], what A streamed: the same reply, the same id.
            assert on_b.parts()[0] == {"type": "start", "messageId": start["messageId"]}
            assert on_b.events == on_a.events
            assert on_b.text() == on_a.text() and on_a.text().strip().endswith(TAIL)
            assert on_b.events[-1] == (None, DONE)

            # Stored once, under the announced id; the refused request stored nothing.
            await wait_until_idle(http, b, chat_id)
            detail = (await http.get(f"{b.url}/api/chats/{chat_id}")).json()
            assert "Me too" not in [m["content"] for m in detail["messages"]]
            replies = await assistant_messages(http, b, chat_id)
            assert [(m["id"], m["content"]) for m in replies] == [
                (start["messageId"], on_a.text().strip())
            ]
            assert "stopped" not in replies[0]

    run(scenario(), a, b)


def test_a_stop_sent_to_the_other_process_ends_the_reply_where_it_runs(servers, model):
    a, b = servers

    async def scenario():
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            chat_id = await new_chat(http, a)
            held = model.hold_reply()
            try:
                on_a = await read_stream(http, "POST", f"{a.url}/api/chats/{chat_id}", **ask("Go"))
                await until(lambda: has_text(on_a), "text on A", stream=on_a)
                on_b = await read_stream(http, "GET", f"{b.url}/api/chats/{chat_id}/stream")
                await until(lambda: has_text(on_b), "resumed text on B", stream=on_b)

                stop = await http.delete(f"{b.url}/api/chats/{chat_id}/stream")
                assert stop.status_code == 200, stop.text
                assert stop.json() == {"stopped": True}
                # The model never finishes on its own: only the stop ends these streams.
                await asyncio.wait_for(asyncio.gather(on_a.reading, on_b.reading), TIMEOUT)
                assert await asyncio.to_thread(held.disconnected.wait, TIMEOUT), (
                    "A did not close its call to the model"
                )
                assert not held.release.is_set()
            finally:
                held.release.set()

            assert on_a.done and on_b.done
            assert on_a.types()[-2:] == ["text-end", "finish"], on_a.types()
            assert "error" not in on_a.types()
            assert on_b.events == on_a.events
            text = on_a.text().strip()
            assert text and TAIL.split(" ")[-1] not in text

            # What was generated is stored, marked stopped, under the announced id.
            await wait_until_idle(http, b, chat_id)
            replies = await assistant_messages(http, b, chat_id)
            assert [(m["id"], m["content"], m.get("stopped")) for m in replies] == [
                (on_a.parts()[0]["messageId"], text, True)
            ]
            # Nothing runs any more: a new reply starts on B.
            model.queue_chat("A fresh start.")
            again = await http.post(f"{b.url}/api/chats/{chat_id}", **ask("Again"))
            assert again.status_code == 200, again.text
            answered = parse_sse_text(again.text)
            assert answered.done and answered.text() == "A fresh start."

    run(scenario(), a, b)


# --- the sockets: a message sent through A reaches B ---------------------------------------


def ws_url(server: LiveServer, path: str) -> str:
    return server.url.replace("http://", "ws://", 1) + path


async def next_frame(ws, wanted) -> dict:
    """The next frame `wanted(frame)` accepts (others, such as typing notices, pass by)."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            frame = json.loads(await ws.recv())
            if wanted(frame):
                return frame


def test_the_game_socket_on_one_process_hears_what_is_sent_through_the_other(servers, model):
    a, b = servers
    sid = str(GameSessionFactory().pk)

    def chat(role):
        return lambda frame: frame.get("kind") == "chat" and frame.get("role") == role

    async def scenario():
        path = f"/ws?sessionId={sid}"
        async with (
            httpx.AsyncClient(timeout=TIMEOUT) as http,
            connect(ws_url(b, path), open_timeout=TIMEOUT) as on_b,
            connect(ws_url(a, path), open_timeout=TIMEOUT) as on_a,
        ):
            posted = await http.post(
                f"{a.url}/api/messages",
                json={"sessionId": sid, "role": "system", "content": "A bell tolls."},
            )
            assert posted.status_code == 201, posted.text
            heard = await next_frame(on_b, chat("system"))
            assert (heard["id"], heard["content"]) == (posted.json()["id"], "A bell tolls.")

            # A line sent on A's socket, and the reply A's turn stores, reach B's socket.
            await on_a.send(json.dumps({"action": "user_message", "content": "I open the door"}))
            line = await next_frame(on_b, chat("user"))
            assert line["content"] == "I open the door"
            reply = await next_frame(on_b, chat("assistant"))
            assert reply["id"] > line["id"] and reply["content"].strip()

    run(scenario(), a, b)


def test_the_movie_socket_on_one_process_hears_a_chat_message_sent_on_the_other(servers, model):
    a, b = servers
    owner = UserFactory()
    project = Project.objects.create(owner=owner, title="Rooftop Heist", genre="Action")
    sid = Chat.all_chats.create(
        kind="project_session",
        public_id="session-" + "7" * 24,
        owner=owner,
        project=project,
        current_step="concept-development",
        status="active",
    ).public_id
    token = tokens_for_user(user=owner).access

    def of_type(*kinds):
        return lambda frame: frame.get("type") in kinds

    async def scenario():
        path = f"/api/v1/websocket?token={token}"
        async with (
            connect(ws_url(b, path), open_timeout=TIMEOUT) as on_b,
            connect(ws_url(a, path), open_timeout=TIMEOUT) as on_a,
        ):
            for ws in (on_b, on_a):
                await ws.send(json.dumps({"type": "join-session", "sessionId": sid}))
                joined = await next_frame(ws, of_type("session-joined", "error"))
                assert joined["type"] == "session-joined", joined

            await on_a.send(
                json.dumps({"type": "chat-message", "sessionId": sid, "message": "More stunts"})
            )
            line = await next_frame(on_b, of_type("message-received"))
            assert (line["sessionId"], line["content"]) == (sid, "More stunts")
            assert line["sender"]["id"] == owner.public_id
            assert line == await next_frame(on_a, of_type("message-received"))
            # The AI turn runs on A; its answer reaches B too.
            reply = await next_frame(on_b, of_type("ai-response"))
            assert reply["sessionId"] == sid and reply["content"] and reply["choices"]

    run(scenario(), a, b)


# --- streams in flight and the database pool -------------------------------------------------

POOL_SIZE = 2


@pytest.fixture(scope="module")
def small_pool(django_db_setup, django_db_blocker, tmp_path_factory, fake_model):
    """One process whose PostgreSQL pool has POOL_SIZE connections."""
    from django.db import connection

    require_shared_services("streams beyond the size of the database pool")
    server = LiveServer(
        db_name=connection.settings_dict["NAME"],
        log_path=tmp_path_factory.mktemp("small-pool") / "server.log",
        extra_env={
            "LIVE_SERVER_AI_BASE_URL": fake_model.base_url,
            "DB_POOL_MIN": "1",
            "DB_POOL_MAX": str(POOL_SIZE),
            "DB_POOL_TIMEOUT": "3",
        },
    )
    with running(server, django_db_blocker):
        yield server


def test_streams_in_flight_do_not_hold_connections_of_the_database_pool(small_pool, model):
    """A streamed reply lasts as long as the model writes; its request must not keep a
    connection of the pool meanwhile (Django gives it back only when the response ends), nor
    while its start waits for the start's own database work: twice as many streams as the
    pool has connections, started at once, all stream, and reads still answer. The sessions
    are dropped from the cache first, so each request reads its identity from the database."""
    count = 2 * POOL_SIZE

    async def scenario():
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            chats = [await new_chat(http, small_pool) for _ in range(count)]
            await asyncio.to_thread(_sessions_dropped_from_the_cache)
            held = [model.hold_reply() for _ in range(count)]
            live: list[LiveStream] = []
            try:
                for chat_id in chats:  # all at once
                    url = f"{small_pool.url}/api/chats/{chat_id}"
                    live.append(await read_stream(http, "POST", url, **ask("Go")))
                for stream in live:
                    await until(lambda s=stream: has_text(s), "text", stream=stream)
                read = await http.get(f"{small_pool.url}/api/chats/{chats[0]}")
                assert read.status_code == 200, read.text
                url = f"{small_pool.url}/api/chats/{chats[0]}/stream"
                resumed = await read_stream(http, "GET", url)  # a reply in flight, replayed
                await until(lambda: has_text(resumed), "resumed text", stream=resumed)
                live.append(resumed)
            finally:
                for reply in held:
                    reply.release.set()
            await asyncio.wait_for(asyncio.gather(*(s.reading for s in live)), TIMEOUT)
            assert all(s.done and s.text().strip().endswith(TAIL) for s in live)

    run(scenario(), small_pool)


def _sessions_dropped_from_the_cache() -> None:
    with redis.Redis.from_url(settings.REDIS_URL) as client:
        keys = list(client.scan_iter(match="*django.contrib.sessions.cached_db*"))
        assert keys, "the sessions are read through the cache"
        client.delete(*keys)
