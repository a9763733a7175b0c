"""The socket fan-out benchmark's load generator: one of the load processes bench/fanout.py
drives (bench/fanout_fleet.py).

`python bench/fanout_load.py` reads one JSON command a line on stdin and answers each with one
JSON line on stdout: `connect` (its share of the job's clients, client i to server URL i mod
their number, at most `in_flight` handshakes at once), `start_round` (the round's marker),
`send` (client 0, held by the first process, sends the round's `user_message`; the answer is
the send time), `collect` (the round's last arrival of the user's `chat` frame and of the
assistant's, and every client's frame counts: what was lost, what was extra, whether the
deltas joined equal the reply) and `close`. Times are `time.perf_counter()`, the machine's
monotonic clock, which every process of the machine shares, so the coordinator compares one
process's send with another's arrivals.

The client is a minimal WebSocket client on a bare asyncio protocol (uvloop when present):
arrival times are taken when the bytes reach the process, before any parsing, and frames are
parsed after each round, so thousands of clients in a few Python processes measure the server
rather than the load generator. The process raises its own limit of open files to the hard
limit. Only 127.0.0.1 is contacted; every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import resource
import sys
import time
from urllib.parse import urlsplit

ROUND_TIMEOUT = 20.0
CONNECT_TIMEOUT = 30.0
USER = b'"role": "user"'
ASSISTANT = b'"role": "assistant"'
CHAT = b'"kind": "chat",'
DELTA = b'"kind": "chat_delta"'


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """A client frame (clients must mask; a zero key leaves the payload as it is)."""
    head = bytes([0x80 | opcode])
    length = len(payload)
    if length < 126:
        head += bytes([0x80 | length])
    elif length < 1 << 16:
        head += bytes([0x80 | 126]) + length.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + length.to_bytes(8, "big")
    return head + b"\x00\x00\x00\x00" + payload


class Client(asyncio.Protocol):
    def __init__(self, index: int, host: str, path: str, run: Run):
        self.index = index
        self.host = host
        self.path = path
        self.run = run
        self.buffer = bytearray()
        self.open = False
        self.handshake = asyncio.get_running_loop().create_future()
        self.frames: list[tuple[float, bytes]] = []  # (arrival, payload) of the round
        self.marker = b""
        self.user_at: float | None = None
        self.final_at: float | None = None
        self.closed_code: int | None = None

    # --- transport -----------------------------------------------------------------------

    def connection_made(self, transport):
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        self.transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def connection_lost(self, exc):
        self.open = False
        if not self.handshake.done():
            self.handshake.set_exception(ConnectionError(f"client {self.index}: lost {exc}"))

    def send_text(self, text: str) -> None:
        self.transport.write(masked_frame(0x1, text.encode()))

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buffer = self.buffer
        buffer += data
        if not self.open:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buffer[: buffer.find(b"\r\n")])
            del buffer[: end + 4]
            if b" 101 " not in status:
                self.handshake.set_exception(ConnectionError(status.decode(errors="replace")))
                return
            self.open = True
            self.handshake.set_result(now)
        while len(buffer) >= 2:
            first, second = buffer[0], buffer[1]
            length, offset = second & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length, offset = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length, offset = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < offset + length:
                return
            payload = bytes(buffer[offset : offset + length])
            del buffer[: offset + length]
            opcode = first & 0x0F
            if opcode == 0x1:  # server frames are never fragmented here (autobahn's default)
                self.on_text(now, payload)
            elif opcode == 0x9:
                self.transport.write(masked_frame(0xA, payload))
            elif opcode == 0x8:
                self.closed_code = int.from_bytes(payload[:2], "big") if payload else 1005
                self.open = False

    # --- frames --------------------------------------------------------------------------

    def on_text(self, now: float, payload: bytes) -> None:
        self.frames.append((now, payload))
        marker = self.marker
        if not marker or marker not in payload or DELTA in payload:
            return
        if USER in payload and self.user_at is None:
            self.user_at = now
            self.run.user_seen()
        elif ASSISTANT in payload and CHAT in payload and self.final_at is None:
            self.final_at = now
            self.run.final_seen()

    def start_round(self, marker: bytes) -> None:
        self.frames = []
        self.marker = marker
        self.user_at = self.final_at = None


class Run:
    def __init__(self, clients: int):
        self.clients = clients
        self.users = self.finals = 0
        self.all_users = asyncio.Event()
        self.all_finals = asyncio.Event()

    def reset(self) -> None:
        self.users = self.finals = 0
        self.all_users.clear()
        self.all_finals.clear()

    def user_seen(self) -> None:
        self.users += 1
        if self.users == self.clients:
            self.all_users.set()

    def final_seen(self) -> None:
        self.finals += 1
        if self.finals == self.clients:
            self.all_finals.set()


def check_round(client: Client, marker: str, stream: bool) -> dict:
    """What one client got in one round: lost, extra and broken frames."""
    users = finals = deltas = other = 0
    text: list[str] = []
    final_content = None
    for _, payload in client.frames:
        frame = json.loads(payload)
        kind, role = frame.get("kind"), frame.get("role")
        if kind == "chat_delta" and stream:
            deltas += 1
            text.append(frame["delta"])
        elif kind == "chat" and role == "user" and frame["content"] == marker:
            users += 1
        elif kind == "chat" and role == "assistant" and marker in frame["content"]:
            finals += 1
            final_content = frame["content"]
        else:
            other += 1
    lost = (users < 1) + (finals < 1)
    extra = max(0, users - 1) + max(0, finals - 1) + other
    broken = int(stream and final_content is not None and "".join(text) != final_content)
    return {"lost": lost, "extra": extra, "broken": broken, "deltas": deltas}


def raise_file_limit() -> int:
    """Raise this process's limit of open files to its hard limit (a socket is a file);
    returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


class Member:
    """One load process's share of the clients, driven by the coordinator's commands."""

    def __init__(self):
        self.clients: list[Client] = []
        self.run = Run(0)
        self.stream = False
        self.marker = ""

    async def connect(self, command: dict) -> dict:
        """Connect clients `first`..`last - 1` of the job (client i to URL i mod len), at most
        `in_flight` handshakes under way at once; the handshake times and the span."""
        loop = asyncio.get_running_loop()
        self.stream = command["stream"]
        query = f"sessionId={command['session']}" + ("&stream=1" if self.stream else "")
        urls = command["urls"]
        gate = asyncio.Semaphore(command.get("in_flight", 10**9))
        failed = 0

        async def one(index: int) -> None:
            nonlocal failed
            parts = urlsplit(urls[index % len(urls)])
            client = Client(index, parts.netloc, f"/ws?{query}", self.run)
            async with gate:
                began = time.perf_counter()
                try:
                    await loop.create_connection(lambda: client, parts.hostname, parts.port)
                    opened = await client.handshake
                except OSError:
                    failed += 1
                    return
            client.connect_ms = (opened - began) * 1000
            self.clients.append(client)

        began = time.perf_counter()
        await asyncio.wait_for(
            asyncio.gather(*(one(i) for i in range(command["first"], command["last"]))),
            command.get("timeout", CONNECT_TIMEOUT),
        )
        ended = time.perf_counter()
        self.clients.sort(key=lambda c: c.index)
        self.run = Run(len(self.clients))
        for client in self.clients:
            client.run = self.run
        return {
            "connect_ms": [c.connect_ms for c in self.clients],
            "began": began,
            "ended": ended,
            "failed": failed,
        }

    def start_round(self, command: dict) -> dict:
        self.marker = command["marker"]
        for client in self.clients:
            client.start_round(self.marker.encode())
        self.run.reset()
        return {}

    def send(self, command: dict) -> dict:
        """Client 0 (this member's first) sends the round's `user_message`."""
        sender = self.clients[0]
        assert sender.index == 0
        sent = time.perf_counter()
        sender.send_text(json.dumps({"action": "user_message", "content": self.marker}))
        return {"sent": sent}

    async def collect(self, command: dict) -> dict:
        """Wait until every client has the round's reply (or the deadline), then a little
        longer (frames arriving late count as extra); the round's last arrivals and counts."""
        if self.clients:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.run.all_finals.wait(), ROUND_TIMEOUT)
        await asyncio.sleep(command.get("linger", 0.05))
        users = [c.user_at for c in self.clients]
        finals = [c.final_at for c in self.clients]
        # The first delta's arrival at each stream=1 client (frames are in arrival order).
        deltas = [
            next((at for at, payload in c.frames if DELTA in payload), None) for c in self.clients
        ]
        totals = {"lost": 0, "extra": 0, "broken": 0, "deltas": 0}
        for client in self.clients:
            check = check_round(client, self.marker, self.stream)
            for key in totals:
                totals[key] += check[key]
        return {
            "user_last": None if None in users or not users else max(users),
            "final_last": None if None in finals or not finals else max(finals),
            "delta_last": None if None in deltas or not deltas else max(deltas),
            "frames": sum(len(c.frames) for c in self.clients),
            **totals,
        }

    def close(self, command: dict) -> dict:
        closed = sum(1 for c in self.clients if not c.open)
        for client in self.clients:
            client.transport.close()
        return {"closed": closed}


async def serve() -> None:
    """Read one JSON command a line from stdin, answer each with one JSON line on stdout."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    member = Member()
    print(json.dumps({"ready": True, "files": raise_file_limit()}), flush=True)
    while line := await reader.readline():
        command = json.loads(line)
        name = command["cmd"]
        answer = getattr(member, name)(command)
        if asyncio.iscoroutine(answer):
            answer = await answer
        print(json.dumps(answer), flush=True)
        if name == "close":
            return


if __name__ == "__main__":
    try:
        from uvloop import new_event_loop as loop_factory
    except ImportError:
        loop_factory = None
    asyncio.run(serve(), loop_factory=loop_factory)
