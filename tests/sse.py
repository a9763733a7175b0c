"""Read Server-Sent Events in tests: a small parser and an httpx streaming reader.

Family A streams a reply as `event: <type>` + `data: <json>` parts ending with `data: [DONE]`
(CONTRACTS.md, "Chats"). `parse_sse` turns raw lines into `(event, data)` pairs, the way a
browser's EventSource and the AI SDK's parser both read them: `data:` lines of one event are
joined with newlines, a blank line ends the event, a line starting with `:` is a comment
(`: keep-alive`), and an event with no `event:` line has the event name None.

`read_sse` reads a live response with `httpx` streaming (`client.stream(...)`) and can stop
after a number of events, closing the connection as a client that goes away would.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx

DONE = "[DONE]"


@dataclass
class SSEStream:
    """What a client received: the status, the headers, the events and the raw lines."""

    status_code: int
    headers: httpx.Headers
    events: list[tuple[str | None, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """Whether the stream ended with `data: [DONE]`."""
        return bool(self.events) and self.events[-1][1] == DONE

    def parts(self) -> list[dict]:
        """The JSON data of every event except `[DONE]`, in order."""
        return [json.loads(data) for _, data in self.events if data != DONE]

    def types(self) -> list[str]:
        """The `type` of every part, in order."""
        return [part.get("type") for part in self.parts()]

    def text(self) -> str:
        """The reply text: the `text-delta` deltas joined."""
        return "".join(p["delta"] for p in self.parts() if p.get("type") == "text-delta")

    def comments(self) -> list[str]:
        """Comment lines (`: keep-alive`), without the leading colon."""
        return [line[1:].strip() for line in self.lines if line.startswith(":")]


def parse_sse(lines: Iterable[str]) -> list[tuple[str | None, str]]:
    """Group SSE lines into `(event, data)` pairs; a trailing event without a blank line
    after it counts too (a stream cut right after its last part)."""
    events: list[tuple[str | None, str]] = []
    event: str | None = None
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if line == "":
            if data:
                events.append((event, "\n".join(data)))
            event, data = None, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    if data:
        events.append((event, "\n".join(data)))
    return events


def parse_sse_text(text: str) -> SSEStream:
    """Parse a whole SSE body (e.g. a Django test response's joined content)."""
    lines = text.splitlines()
    return SSEStream(status_code=200, headers=httpx.Headers(), events=parse_sse(lines), lines=lines)


def read_sse(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    max_events: int | None = None,
    **kwargs,
) -> SSEStream:
    """Send a request and read its event stream to the end, or until `max_events` events
    have arrived; then the connection is closed (the server sees the client go away).

    A response that is not an event stream (an error body, a 204) is returned with no events
    and its body as the only line.
    """
    with client.stream(method, url, **kwargs) as response:
        result = SSEStream(status_code=response.status_code, headers=response.headers)
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            body = response.read().decode()
            result.lines = [body] if body else []
            return result
        pending: list[str] = []
        for line in response.iter_lines():
            result.lines.append(line)
            pending.append(line)
            if line == "":
                result.events.extend(parse_sse(pending))
                pending = []
                if max_events is not None and len(result.events) >= max_events:
                    break
        else:
            result.events.extend(parse_sse(pending))
    return result
