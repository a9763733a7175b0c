"""The socket fan-out benchmark's load generator (run by bench/fanout.py in its own process).

`python bench/fanout_load.py '<json job>'` connects the job's clients to the game socket,
split round-robin over the job's server URLs, lets client 0 send `user_message` frames one
round at a time, and prints one JSON object: per round the time from the send to the user's
`chat` frame reaching the last client and to the assistant's `chat` frame reaching the last
client, the handshake times, and every client's frame counts (what was lost, what was extra).

The client is a minimal WebSocket client on a bare asyncio protocol (uvloop when present):
arrival times are taken when the bytes reach the process, before any parsing, and frames are
parsed after each round, so 500 clients in one Python process measure the server rather
than the load generator. Only 127.0.0.1 is contacted; every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
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


async def connect_all(job: dict, run: Run) -> tuple[list[Client], list[float]]:
    loop = asyncio.get_running_loop()
    query = f"sessionId={job['session']}" + ("&stream=1" if job["stream"] else "")
    clients: list[Client] = []
    starts: list[float] = []

    async def one(index: int) -> None:
        parts = urlsplit(job["urls"][index % len(job["urls"])])
        client = Client(index, parts.netloc, f"/ws?{query}", run)
        clients.append(client)
        starts.append(time.perf_counter())
        await loop.create_connection(lambda: client, parts.hostname, parts.port)
        opened = await client.handshake
        client.connect_ms = (opened - starts[-1]) * 1000

    started = time.perf_counter()
    await asyncio.wait_for(
        asyncio.gather(*(one(i) for i in range(job["clients"]))), CONNECT_TIMEOUT
    )
    burst_ms = (time.perf_counter() - started) * 1000
    clients.sort(key=lambda c: c.index)
    return clients, [c.connect_ms for c in clients] + [burst_ms]


async def main(job: dict) -> dict:
    run = Run(job["clients"])
    clients, connect = await connect_all(job, run)
    burst_ms = connect.pop()
    await asyncio.sleep(job.get("settle", 0.5))
    sender = clients[0]
    rounds = []
    totals = {"lost": 0, "extra": 0, "broken": 0, "frames": 0, "deltas": 0}
    for number in range(job["warmup"] + job["rounds"]):
        marker = f"fanout {job['tag']} round {number}"
        for client in clients:
            client.start_round(marker.encode())
        run.reset()
        sent = time.perf_counter()
        sender.send_text(json.dumps({"action": "user_message", "content": marker}))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run.all_finals.wait(), ROUND_TIMEOUT)
        await asyncio.sleep(job.get("linger", 0.05))  # frames arriving late count as extra
        users = [c.user_at for c in clients]
        finals = [c.final_at for c in clients]
        checks = [check_round(c, marker, job["stream"]) for c in clients]
        if number < job["warmup"]:
            continue
        for check in checks:
            for key in ("lost", "extra", "broken", "deltas"):
                totals[key] += check[key]
        totals["frames"] += sum(len(c.frames) for c in clients)
        rounds.append(
            {
                "user_ms": None if None in users else (max(users) - sent) * 1000,
                "final_ms": None if None in finals else (max(finals) - sent) * 1000,
            }
        )
        await asyncio.sleep(job.get("pause", 0.02))
    closed = sum(1 for c in clients if not c.open)
    for client in clients:
        client.transport.close()
    return {
        "rounds": rounds,
        "connect_ms": connect,
        "burst_ms": burst_ms,
        "closed": closed,
        **totals,
    }


if __name__ == "__main__":
    try:
        from uvloop import new_event_loop as loop_factory
    except ImportError:
        loop_factory = None
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])), loop_factory=loop_factory)))
