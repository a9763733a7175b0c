"""The load generator of the SSE relay benchmark: raw asyncio HTTP/1.1 with httptools' parser.

Each stream is one connection; every read is stamped with `time.time_ns()` as it returns, and
every SSE part completed by that read gets the stamp. A `text-delta` part's text holds the
upstream's tokens (` t<i>@<send ns>`, see `bench/relay_upstream.py`), so each token's added
delay is its receive stamp minus its send stamp (both CLOCK_REALTIME on one machine). A
generic HTTP client (httpx, aiohttp) would do the same work with more CPU per part on the core
shared with the upstream; this one only splits bytes.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field

import httptools

TOKEN = re.compile(rb"t(\d+)@(\d+)")


@dataclass
class StreamResult:
    status: int = 0
    sent_ns: int = 0  # the request written
    first_byte_ns: int = 0  # the first byte of the response
    first_delta_ns: int = 0  # the first text-delta part
    first_token_send_ns: int = 0  # the upstream's send stamp of token 0
    parts: int = 0  # text-delta parts
    tokens: int = 0  # tokens found in them
    delays_ns: list[int] = field(default_factory=list)
    finished: bool = False  # data: [DONE] seen
    error: str = ""


class _Response:
    def __init__(self, parser_box: list) -> None:
        self.box = parser_box
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.complete = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.status = self.box[0].get_status_code()

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.complete = True


def _request(method: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode() + body


async def _open(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)


async def fetch(port: int, method: str, path: str, payload=None, headers=None) -> _Response:
    """One whole request (for set-up calls such as creating a chat)."""
    body = json.dumps(payload).encode() if payload is not None else b""
    reader, writer = await _open(port)
    box: list = []
    response = _Response(box)
    parser = httptools.HttpResponseParser(response)
    box.append(parser)
    try:
        writer.write(
            _request(method, path, body, {"Content-Type": "application/json", **(headers or {})})
        )
        while not response.complete:
            data = await reader.read(65536)
            if not data:
                break
            parser.feed_data(data)
    finally:
        writer.close()
    return response


async def sse_stream(port: int, path: str, payload: dict, headers=None) -> StreamResult:
    """POST `payload` to `path` and read the SSE answer to its end, stamping every part."""
    result = StreamResult()
    box: list = []
    response = _Response(box)
    parser = httptools.HttpResponseParser(response)
    box.append(parser)
    try:
        reader, writer = await _open(port)
    except OSError as exc:
        result.error = f"connect: {exc}"
        return result
    try:
        request = _request(
            "POST",
            path,
            json.dumps(payload).encode(),
            {"Content-Type": "application/json", "Accept": "text/event-stream", **(headers or {})},
        )
        result.sent_ns = time.time_ns()
        writer.write(request)
        body = response.body
        while not response.complete:
            data = await reader.read(65536)
            now = time.time_ns()
            if not data:
                break
            if not result.first_byte_ns:
                result.first_byte_ns = now
            parser.feed_data(data)
            while True:
                end = body.find(b"\n\n")
                if end < 0:
                    break
                event = bytes(body[:end])
                del body[: end + 2]
                _part(result, event, now)
        result.status = response.status
        if not result.finished and not result.error:
            result.error = f"HTTP {response.status}, stream ended without [DONE]"
    except (OSError, httptools.HttpParserError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        writer.close()
    return result


def _part(result: StreamResult, event: bytes, now: int) -> None:
    for line in event.split(b"\n"):
        if not line.startswith(b"data: "):
            continue
        data = line[6:]
        if data == b"[DONE]":
            result.finished = True
            return
        if b'"type":"text-delta"' not in data:
            if b'"type":"error"' in data:
                result.error = data.decode(errors="replace")[:200]
            return
        delta = json.loads(data)["delta"].encode()
        result.parts += 1
        if not result.first_delta_ns:
            result.first_delta_ns = now
        for found in TOKEN.finditer(delta):
            sent = int(found.group(2))
            if found.group(1) == b"0":
                result.first_token_send_ns = sent
            result.tokens += 1
            result.delays_ns.append(now - sent)


async def staggered(count: int, spread: float, make) -> list:
    """`count` coroutines from `make(i)`, started evenly over `spread` seconds."""
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def one(i: int):
        delay = start + spread * i / max(count, 1) - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        return await make(i)

    return await asyncio.gather(*(one(i) for i in range(count)))
