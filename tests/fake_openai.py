"""A small OpenAI-compatible HTTP server for tests of the real `openai` SDK code path.

The SDK talks HTTP through `httpx2`, which `respx` does not intercept, so tests run this
server on 127.0.0.1 (an ephemeral port, a background thread) and point `settings.AI_TASKS` at
it. It serves the three routes the provider uses:

- ``POST /v1/chat/completions``: a JSON completion, or with ``stream: true`` Server-Sent Events
  (``data: {chunk}`` parts ending with ``data: [DONE]``). A request with a ``json_schema``
  ``response_format`` is answered from the scripted queue (`queue_structured`).
- ``POST /v1/images/generations``: ``b64_json`` of a real image drawn with Pillow, by default
  a PNG of another size than the one asked, as real endpoints sometimes send.
- ``POST /v1/embeddings``: one deterministic vector per input, listed in reverse index order
  so that the client has to sort them; honours ``encoding_format`` (the SDK asks for base64).

Every request is recorded (`requests`). Failures are scripted per call: an HTTP status with an
OpenAI error body (`fail`), a delay longer than the client's timeout (`hang`), a stream cut
mid-way (`cut_stream`), an error part inside a stream (`stream_error`), malformed structured
content (`queue_structured` with a string that is not JSON). `refused_base_url()` gives a URL
whose port nothing listens on, for the connection-refused case.
"""

from __future__ import annotations

import base64
import io
import json
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image, ImageDraw

CHAT = "chat"
STRUCTURED = "structured"
IMAGES = "images"
EMBEDDINGS = "embeddings"
_ROUTES = {
    "/v1/chat/completions": CHAT,
    "/v1/images/generations": IMAGES,
    "/v1/embeddings": EMBEDDINGS,
}
DEFAULT_EMBEDDING_DIMENSIONS = 8
FAKE_API_KEY = "sk-fake-test-key"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received, its JSON body decoded."""

    method: str
    path: str
    route: str | None
    headers: dict[str, str]
    body: Any


@dataclass
class _Step:
    """One scripted answer, used by the next request of `route` (any route when None)."""

    route: str | None
    kind: str
    payload: dict = field(default_factory=dict)


def png_bytes(width: int, height: int, fmt: str = "PNG") -> bytes:
    """A real picture of the given size (a colour block and a diagonal), in `fmt`."""
    image = Image.new("RGB", (width, height), (30, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.line([(0, 0), (width - 1, height - 1)], fill=(250, 200, 40), width=3)
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def refused_base_url() -> str:
    """A base URL on 127.0.0.1 whose port was just released, so connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def error_body(status: int, message: str | None = None) -> dict:
    kinds = {
        400: "invalid_request_error",
        401: "authentication_error",
        429: "rate_limit_exceeded",
    }
    return {
        "error": {
            "message": message or f"fake_openai scripted HTTP {status}",
            "type": kinds.get(status, "server_error"),
            "param": None,
            "code": kinds.get(status, "server_error"),
        }
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A client that hung up (its timeout fired, a test ended) is not an error here; a bug
        of the fake itself is still printed."""
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class FakeOpenAI:
    """The server and its script. `start()` it, use `base_url`, `stop()` it."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._script: list[_Step] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.default_image = (96, 64, "PNG")
        # Streams whose client went away before the end (`slow_stream`).
        self.disconnected = threading.Event()

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        handler = type("FakeOpenAIHandler", (_Handler,), {"fake": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the server first"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # --- script ------------------------------------------------------------------------------

    def queue_chat(self, text: str) -> None:
        """The next plain chat completion (streamed or not) answers `text`."""
        self._push(_Step(CHAT, "chat", {"text": text}))

    def queue_structured(self, value: Any) -> None:
        """The next json_schema completion answers `value` as JSON, or a string as sent
        (so that a string that is not JSON scripts a malformed answer)."""
        text = value if isinstance(value, str) else json.dumps(value)
        self._push(_Step(STRUCTURED, "chat", {"text": text}))

    def queue_image(self, width: int, height: int, fmt: str = "PNG") -> None:
        self._push(_Step(IMAGES, "image", {"raw": png_bytes(width, height, fmt)}))

    def queue_image_bytes(self, raw: bytes) -> None:
        """The next image answer is `raw` base64-encoded, whatever it is."""
        self._push(_Step(IMAGES, "image", {"raw": raw}))

    def fail(
        self,
        status: int,
        *,
        route: str | None = None,
        message: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The next request (of `route`) gets HTTP `status` with an OpenAI error body."""
        self._push(
            _Step(route, "fail", {"status": status, "message": message, "headers": headers or {}})
        )

    def hang(self, seconds: float, *, route: str | None = None) -> None:
        """The next request (of `route`) waits `seconds` before answering normally."""
        self._push(_Step(route, "hang", {"seconds": seconds}))

    def cut_stream(self, after_words: int, *, text: str | None = None) -> None:
        """The next streamed completion sends `after_words` deltas, then drops the connection
        without finishing the chunked body."""
        self._push(_Step(CHAT, "cut", {"after": after_words, "text": text}))

    def stream_error(self, after_words: int, message: str = "fake_openai stream error") -> None:
        """The next streamed completion sends `after_words` deltas, then an error part."""
        self._push(_Step(CHAT, "stream_error", {"after": after_words, "message": message}))

    def slow_stream(self, text: str, *, interval: float, reasoning: str | None = None) -> None:
        """The next streamed completion sends one delta every `interval` seconds: the words
        of `reasoning` first (as `reasoning_content`, as vLLM and DeepSeek send it), then
        those of `text`. A client that closes the connection before the end sets
        `disconnected`."""
        self._push(
            _Step(CHAT, "slow", {"text": text, "interval": interval, "reasoning": reasoning})
        )

    def _push(self, step: _Step) -> None:
        with self._lock:
            self._script.append(step)

    def _pop(self, route: str) -> _Step | None:
        with self._lock:
            for index, step in enumerate(self._script):
                if step.route in (None, route):
                    return self._script.pop(index)
        return None

    @property
    def pending(self) -> int:
        """Scripted steps not yet used."""
        with self._lock:
            return len(self._script)

    # --- inspection --------------------------------------------------------------------------

    def requests_to(self, route: str) -> list[RecordedRequest]:
        """Recorded requests of one route (`CHAT` includes structured ones)."""
        return [r for r in self.requests if r.route == route]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAI
    protocol_version = "HTTP/1.1"
    timeout = 10

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet; the recorded requests are what tests read."""

    # --- plumbing ----------------------------------------------------------------------------

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None):
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode("ascii") + data + b"\r\n")
        self.wfile.flush()

    def _send_event(self, payload: Any) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self._send_chunk(f"data: {text}\n\n".encode())

    def do_POST(self) -> None:
        try:
            self._handle_post()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            # The client gave up (its timeout fired) before we answered.
            self.close_connection = True

    def do_GET(self) -> None:
        self._send_json(404, error_body(404, f"fake_openai has no GET {self.path}"))

    def _handle_post(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"null")
        except json.JSONDecodeError:
            body = raw.decode("utf-8", "replace")
        path = self.path.split("?", 1)[0]
        route = _ROUTES.get(path)
        self.fake._record(
            RecordedRequest(
                "POST", path, route, {k.lower(): v for k, v in self.headers.items()}, body
            )
        )
        if route is None:
            self._send_json(404, error_body(404, f"fake_openai has no route {path}"))
            return
        if not isinstance(body, dict):
            self._send_json(400, error_body(400, "body must be a JSON object"))
            return
        kind = route
        if route == CHAT and (body.get("response_format") or {}).get("type") == "json_schema":
            kind = STRUCTURED
        step = self.fake._pop(kind)
        if step is not None and step.kind == "hang":
            if self.fake._stopping.wait(step.payload["seconds"]):
                self.close_connection = True
                return
            step = None
        if step is not None and step.kind == "fail":
            status = step.payload["status"]
            self._send_json(
                status, error_body(status, step.payload["message"]), step.payload["headers"]
            )
            return
        if kind == STRUCTURED:
            self._structured(body, step)
        elif kind == CHAT:
            self._chat(body, step)
        elif kind == IMAGES:
            self._image(body, step)
        else:
            self._embeddings(body)

    # --- routes ------------------------------------------------------------------------------

    @staticmethod
    def _default_text(body: dict) -> str:
        last_user = ""
        for message in body.get("messages") or []:
            if message.get("role") == "user":
                last_user = str(message.get("content"))
        return f"Fake reply to: {last_user}"

    def _completion(self, body: dict, text: str) -> dict:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", ""),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }

    def _chunk(self, body: dict, delta: dict, finish: str | None = None) -> dict:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", ""),
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }

    def _structured(self, body: dict, step: _Step | None) -> None:
        if step is None or step.kind != "chat":
            self._send_json(400, error_body(400, "fake_openai: no scripted structured answer"))
            return
        self._send_json(200, self._completion(body, step.payload["text"]))

    def _chat(self, body: dict, step: _Step | None) -> None:
        text = self._default_text(body)
        if step is not None and step.payload.get("text"):
            text = step.payload["text"]
        if not body.get("stream"):
            self._send_json(200, self._completion(body, text))
            return
        words = text.split(" ")
        deltas = [word if i == 0 else " " + word for i, word in enumerate(words)]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self._send_event(self._chunk(body, {"role": "assistant", "content": ""}))
        if step is not None and step.kind == "slow":
            self._slow_stream(body, step.payload, deltas)
            return
        if step is not None and step.kind in ("cut", "stream_error"):
            for delta in deltas[: step.payload["after"]]:
                self._send_event(self._chunk(body, {"content": delta}))
            if step.kind == "cut":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._send_event(
                {"error": {"message": step.payload["message"], "type": "server_error"}}
            )
            self._send_event("[DONE]")
            self._send_chunk(b"")
            return
        for delta in deltas:
            self._send_event(self._chunk(body, {"content": delta}))
        self._send_event(self._chunk(body, {}, finish="stop"))
        self._send_event("[DONE]")
        self._send_chunk(b"")

    def _slow_stream(self, body: dict, payload: dict, deltas: list[str]) -> None:
        reasoning = (payload.get("reasoning") or "").split(" ") if payload.get("reasoning") else []
        parts = [{"reasoning_content": (w if i == 0 else " " + w)} for i, w in enumerate(reasoning)]
        parts += [{"content": delta} for delta in deltas]
        try:
            for part in parts:
                time.sleep(payload["interval"])
                self._send_event(self._chunk(body, part))
            self._send_event(self._chunk(body, {}, finish="stop"))
            self._send_event("[DONE]")
            self._send_chunk(b"")
        except OSError:
            # The client went away mid-stream (a stopped turn closes its upstream call).
            self.close_connection = True
            self.fake.disconnected.set()

    def _image(self, body: dict, step: _Step | None) -> None:
        if step is not None and step.kind == "image":
            raw = step.payload["raw"]
        else:
            raw = png_bytes(*self.fake.default_image)
        count = int(body.get("n") or 1)
        encoded = base64.b64encode(raw).decode("ascii")
        self._send_json(200, {"created": int(time.time()), "data": [{"b64_json": encoded}] * count})

    def _embeddings(self, body: dict) -> None:
        texts = body.get("input")
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not texts:
            self._send_json(400, error_body(400, "input must be a string or a list of strings"))
            return
        dimensions = int(body.get("dimensions") or DEFAULT_EMBEDDING_DIMENSIONS)
        data = []
        for index, text in enumerate(texts):
            # Small integers survive float32: tests read the index and the length back.
            vector = [float(index), float(len(str(text)))] + [0.5] * (dimensions - 2)
            if body.get("encoding_format") == "base64":
                packed = struct.pack(f"<{dimensions}f", *vector)
                embedding: Any = base64.b64encode(packed).decode("ascii")
            else:
                embedding = vector
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        data.reverse()
        self._send_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model", ""),
                "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)},
            },
        )


def point_ai_tasks(
    settings,
    base_url: str,
    *,
    timeout: float = 2.0,
    max_retries: int = 0,
    tasks: tuple[str, ...] | None = None,
) -> None:
    """Point `settings.AI_TASKS` (all tasks, or `tasks`) at an OpenAI-compatible `base_url`,
    each with its own model name `fake-<task>` (the other tasks go offline), and forget
    cached clients."""
    from ai.providers import reset_providers

    settings.AI_TASKS = {
        task: (
            {
                **config,
                "base_url": base_url,
                "api_key": FAKE_API_KEY,
                "model": f"fake-{task}",
                "timeout": timeout,
                "max_retries": max_retries,
                "offline": False,
            }
            if tasks is None or task in tasks
            else {**config, "base_url": "", "api_key": "", "offline": True}
        )
        for task, config in settings.AI_TASKS.items()
    }
    reset_providers()
