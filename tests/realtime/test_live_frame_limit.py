"""The server's own WebSocket message limit, against a real server process started as `make
run` and production start it (`python -m config.serve_uvicorn`), with the `websockets` client,
in a process of its own on the test database (tests/live.py).

The contract allows frames up to 2 MiB: a 1.5 MiB frame reaches the consumer (whose content
rule answers it with an info frame), and a 2.5 MiB one is refused by the server with close
code 1009 and a reason, never by a dropped connection."""

from __future__ import annotations

import asyncio
import json

import pytest
from django.conf import settings
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.factories import GameSessionFactory
from tests.live import LiveServer, wait_for_other_sessions_to_end

pytestmark = pytest.mark.django_db(transaction=True)

MIB = 1024 * 1024
TIMEOUT = 20


def frame_of(size: int) -> str:
    """A user_message frame of exactly `size` bytes."""
    empty = json.dumps({"action": "user_message", "content": ""})
    return json.dumps({"action": "user_message", "content": "x" * (size - len(empty))})


async def exchange(url: str, frame: str) -> tuple[dict | None, int | None, str]:
    """Send `frame`; return (the first frame answered, close code, close reason)."""
    async with connect(url, max_size=None, open_timeout=TIMEOUT, close_timeout=TIMEOUT) as ws:
        await ws.send(frame)
        try:
            answer = await asyncio.wait_for(ws.recv(), TIMEOUT)
        except ConnectionClosed as closed:
            received = closed.rcvd
            return None, received and received.code, (received.reason if received else "")
        # Still open after the answer: the server took the frame.
        await ws.send(json.dumps({"action": "typing", "value": True}))
        return json.loads(answer), None, ""


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory):
    from django.db import connection

    live = LiveServer(
        db_name=connection.settings_dict["NAME"],
        log_path=tmp_path_factory.mktemp("frame-limit") / "server.log",
    )
    live.start()
    try:
        yield live
    finally:
        live.stop()
        with django_db_blocker.unblock():
            wait_for_other_sessions_to_end(connection)


def test_frames_up_to_2_mib_pass_larger_close_with_1009(server):
    assert settings.WEBSOCKET_MAX_MESSAGE_BYTES == 2 * MIB
    session = GameSessionFactory()
    url = server.url.replace("http://", "ws://") + f"/ws?sessionId={session.pk}"

    accepted = frame_of(int(1.5 * MIB))
    answer, code, _ = asyncio.run(exchange(url, accepted))
    assert code is None, server.log_tail()
    assert answer["kind"] == "info"
    assert str(settings.MESSAGE_MAX_BYTES) in answer["message"]  # the content rule answered

    answer, code, reason = asyncio.run(exchange(url, frame_of(int(2.5 * MIB))))
    assert answer is None
    assert code == 1009, server.log_tail()
    # The reason names the limit (uvicorn's sans-I/O websockets protocol: "frame exceeds
    # limit of 2097152 bytes").
    assert "exceeds" in reason and "2097152" in reason

    # The server is still serving sockets.
    answer, code, _ = asyncio.run(exchange(url, '{"action": "typing"}'))
    assert code is None and "boolean" in answer["message"]
