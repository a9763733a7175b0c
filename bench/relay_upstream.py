"""A fake OpenAI-compatible upstream for the SSE relay benchmark (`bench/sse_relay.py`).

`POST /v1/chat/completions` with `"stream": true` answers Server-Sent Events in the shape the
`openai` SDK reads (the same chunks as `tests/fake_openai.py`: a role chunk, one
`chat.completion.chunk` per token, a `finish_reason` chunk, `data: [DONE]`), at a fixed rate.
The last user message says how many tokens and how fast: `... n=<tokens> rate=<tokens/s>`
(defaults 20 and 10). The first token goes out as soon as the request is read, token i at
start + i / rate (an absolute schedule, so a late wake-up does not shift the next ones).

Each token's text is ` t<i>@<ns>`, `<ns>` being `time.time_ns()` just before the token is
written to the socket: the client, on the same machine, subtracts it from its own receive
time to get the delay the relay in between added. A non-streamed request is answered with a
one-line completion.

Plain asyncio (uvloop when installed) with keep-alive and chunked bodies, so that the upstream
costs little CPU beside the server under test. Contacts nothing; listens on 127.0.0.1.

    python -m bench.relay_upstream --port 8101     # prints "ready <port>" when listening
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time

DIRECTIVE = re.compile(r"n=(\d+) rate=([0-9.]+)")
DEFAULT_TOKENS = 20
DEFAULT_RATE = 10.0
HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


def _chunked(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _event(payload: dict | str) -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return _chunked(f"data: {text}\n\n".encode())


class Chunks:
    """Pre-rendered chunk JSON around the one field that changes per token."""

    def __init__(self, model: str) -> None:
        base = {
            "id": "chatcmpl-relay-bench",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": {"content": "@@"}, "finish_reason": None}],
        }
        prefix, suffix = json.dumps(base, separators=(",", ":")).split('"@@"')
        self.prefix, self.suffix = prefix.encode(), suffix.encode()
        self.base = base

    def token(self, text: str) -> bytes:
        return _chunked(b"data: " + self.prefix + json.dumps(text).encode() + self.suffix + b"\n\n")

    def _with(self, delta: dict, finish: str | None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return _event({**self.base, "choices": [choice]})

    def role(self) -> bytes:
        return self._with({"role": "assistant", "content": ""}, None)

    def finish(self) -> bytes:
        return self._with({}, "stop")


def plan_of(body: dict) -> tuple[int, float]:
    last_user = ""
    for message in body.get("messages") or []:
        if message.get("role") == "user":
            content = message.get("content")
            last_user = content if isinstance(content, str) else json.dumps(content)
    found = DIRECTIVE.search(last_user)
    if not found:
        return DEFAULT_TOKENS, DEFAULT_RATE
    return int(found.group(1)), float(found.group(2))


async def stream_tokens(writer: asyncio.StreamWriter, body: dict) -> None:
    tokens, rate = plan_of(body)
    chunks = Chunks(str(body.get("model", "")))
    loop = asyncio.get_running_loop()
    writer.write(HEAD + chunks.role())
    start = loop.time()
    for i in range(tokens):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        writer.write(chunks.token(f" t{i}@{time.time_ns()}"))
        if writer.transport.get_write_buffer_size() > 65536:
            await writer.drain()
    writer.write(chunks.finish() + _event("[DONE]") + b"0\r\n\r\n")
    await writer.drain()


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            raw = await reader.readexactly(length) if length else b""
            method, path = lines[0].split(" ")[:2]
            if method != "POST" or not path.endswith("/chat/completions"):
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                continue
            body = json.loads(raw or b"{}")
            if body.get("stream"):
                await stream_tokens(writer, body)
                continue
            answer = json.dumps(
                {
                    "id": "chatcmpl-relay-bench",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", ""),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "relay bench"},
                            "finish_reason": "stop",
                        }
                    ],
                }
            ).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (len(answer), answer)
            )
    except ConnectionError:
        pass
    finally:
        writer.close()


async def serve(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=2048)
    print(f"ready {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(serve(args.port))
    except ImportError:
        asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
