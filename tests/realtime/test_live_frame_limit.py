"""The server's own WebSocket message limit, against a real server process started as `make
run` and production start it (`python -m config.serve_uvicorn`), with the `websockets` client,
in a process of its own on the test database (tests/live.py).

The contract allows frames up to 2 MiB: a 1.5 MiB frame reaches the consumer (whose content
rule answers it with an info frame), and a 2.5 MiB one is refused by the server with close
code 1009 and a reason, never by a connection dropped without a close frame."""

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
REFUSALS = 10


def frame_of(size: int) -> str:
    """A user_message frame of exactly `size` bytes."""
    empty = json.dumps({"action": "user_message", "content": ""})
    return json.dumps({"action": "user_message", "content": "x" * (size - len(empty))})


async def exchange(url: str, frame: str) -> tuple[dict | None, int | None, str]:
    """Send `frame`; return (the first frame answered, close code, close reason).

    uvicorn refuses an oversize frame as soon as its header arrives: it sends the close frame
    and closes the socket over the rest of the frame still unread, which the kernel answers
    with a reset. A client still writing then sees its send fail, after it has read the close
    frame (about a third of the tries here): the close frame received is the answer either
    way, and a refusal without one fails below."""
    async with connect(url, max_size=None, open_timeout=TIMEOUT, close_timeout=TIMEOUT) as ws:
        try:
            await ws.send(frame)
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

    # Several times: a reset that destroyed the close frame would show as no code.
    for _ in range(REFUSALS):
        answer, code, reason = asyncio.run(exchange(url, frame_of(int(2.5 * MIB))))
        assert answer is None
        assert code == 1009, server.log_tail()
        # The reason names the limit (uvicorn's sans-I/O websockets protocol: "frame exceeds
        # limit of 2097152 bytes").
        assert "exceeds" in reason and "2097152" in reason

    # The server is still serving sockets.
    answer, code, _ = asyncio.run(exchange(url, '{"action": "typing"}'))
    assert code is None and "boolean" in answer["message"]
