"""Request bodies are limited while they are read, at the ASGI boundary (config/body_limit.py).

Django's ASGI handler reads a whole body before any middleware runs, so these tests drive
`config.asgi:application` with raw ASGI messages: a chunked body (no Content-Length), a
Content-Length that lies, and one that declares too much. Each counts how many `http.request`
messages the application pulled, to show that it stopped reading at the limit.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import socket
import time

import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from PIL import Image
from rest_framework.test import APIClient

from accounts.services import tokens_for_user
from config.asgi import application
from media_library.models import Media
from tests.helpers import movie_error
from tests.live import asgi_live_server  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 1024  # DATA_UPLOAD_MAX_MEMORY_SIZE in these tests: the JSON limit
CHUNK = 256
CHUNKS = 40  # 10 KiB offered, far past every limit below
# The chunk that carries the body past LIMIT: the application must not pull another.
PULLED_AT_LIMIT = LIMIT // CHUNK + 1
FREE_FILE = 2048  # the free tier's file limit in these tests
PRO_FILE = 8192
MAX_FILES = 2
BOUNDARY = "limit-test-boundary"


@pytest.fixture(autouse=True)
def small_limits(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT
    settings.MEDIA_UPLOAD_MAX_BYTES = {"free": FREE_FILE, "pro": PRO_FILE, "enterprise": 10**9}
    settings.MEDIA_UPLOAD_MAX_FILES = MAX_FILES


class Sent:
    """What the application answered, and how much of the body it pulled."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.pulled = 0

    @property
    def status(self) -> int:
        return self.messages[0]["status"]

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode().lower(): v.decode() for k, v in self.messages[0]["headers"]}

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])

    def json(self):
        assert self.headers["content-type"].startswith("application/json"), self.headers
        return json.loads(self.body)


async def call(
    path: str,
    chunks: list[bytes],
    *,
    method: str = "POST",
    content_type: str = "application/json",
    declared: int | None = None,
    headers: list[tuple[bytes, bytes]] = (),
) -> Sent:
    """Send `chunks` as the body of one request, one `http.request` message each (the last
    with more_body=False), with no Content-Length unless `declared`."""
    sent = Sent()
    request_headers = [(b"host", b"testserver"), (b"content-type", content_type.encode())]
    if declared is not None:
        request_headers.append((b"content-length", str(declared).encode()))
    request_headers += list(headers)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": request_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    done = asyncio.Event()

    async def receive():
        if sent.pulled < len(chunks):
            sent.pulled += 1
            more = sent.pulled < len(chunks)
            return {"type": "http.request", "body": chunks[sent.pulled - 1], "more_body": more}
        await done.wait()  # the client stays connected until the answer is complete
        return {"type": "http.disconnect"}

    async def send(message):
        sent.messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    await asyncio.wait_for(application(scope, receive, send), timeout=20)
    return sent


def json_chunks(total: int = CHUNK * CHUNKS) -> list[bytes]:
    """A JSON object of `total` bytes, cut into CHUNK-byte pieces."""
    head, tail = b'{"pad": "', b'"}'
    body = head + b"x" * (total - len(head) - len(tail)) + tail
    return [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]


def multipart_chunks(file_size: int, *, project_id: str = "project-x") -> tuple[list[bytes], int]:
    """A multipart body with one `files` part of `file_size` bytes, and its length."""
    head = (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="projectId"\r\n\r\n{project_id}\r\n'
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="files"; filename="big.png"\r\n'
        f"Content-Type: image/png\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    body = head + b"\x89PNG\r\n\x1a\n" + b"0" * (file_size - 8) + tail
    return [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)], len(body)


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


@pytest.fixture
def auth(user) -> list[tuple[bytes, bytes]]:
    """The Authorization header of a free user (made here: issuing a token writes)."""
    return [(b"authorization", f"Bearer {tokens_for_user(user=user).access}".encode())]


@pytest.fixture
def pro_auth(user, auth) -> list[tuple[bytes, bytes]]:
    user.tier = "pro"
    user.save(update_fields=["tier"])
    return auth


def assert_family_413(sent: Sent, family: str, code: str = "PAYLOAD_TOO_LARGE") -> str:
    """413 in the family's own body, and the connection is not kept for more of the body."""
    assert sent.status == 413, sent.body
    assert sent.headers["connection"] == "close"
    body = sent.json()
    if family == "G":
        assert set(body) == {"error"}
        return body["error"]
    if family == "A":
        assert set(body) == {"statusCode", "statusMessage"} and body["statusCode"] == 413
        return body["statusMessage"]
    assert set(body) == {"success", "error", "requestId", "timestamp"}, body
    assert body["success"] is False and body["error"]["code"] == code
    assert sent.headers["x-request-id"] == body["requestId"]
    for name in ("limit", "remaining", "reset", "tier"):
        assert sent.headers[f"x-ratelimit-{name}"], name
    return body["error"]["message"]


FAMILY_PATHS = [
    ("G", "/api/messages"),
    ("G", "/api/characters"),
    ("A", "/api/chats"),
    ("M", "/api/auth/login"),
    ("M", "/api/v1/projects"),
]


# --- JSON bodies: the JSON limit -----------------------------------------------------------


@pytest.mark.parametrize(("family", "path"), FAMILY_PATHS)
async def test_a_chunked_body_stops_at_the_json_limit(family, path):
    sent = await call(path, json_chunks())
    message = assert_family_413(sent, family)
    assert "too large" in message.lower() and str(LIMIT) in message
    assert sent.pulled == PULLED_AT_LIMIT


@pytest.mark.parametrize(("family", "path"), FAMILY_PATHS)
async def test_a_content_length_that_lies_does_not_lift_the_limit(family, path):
    sent = await call(path, json_chunks(), declared=10)
    assert_family_413(sent, family)
    assert sent.pulled == PULLED_AT_LIMIT


@pytest.mark.parametrize(("family", "path"), FAMILY_PATHS)
async def test_a_declared_length_over_the_limit_is_refused_before_reading(family, path):
    sent = await call(path, json_chunks(), declared=CHUNK * CHUNKS)
    assert_family_413(sent, family)
    assert sent.pulled == 0


async def test_a_chunked_body_at_the_limit_is_read_whole():
    chunks = json_chunks(LIMIT)
    sent = await call("/api/messages", chunks)
    assert sent.status == 400, sent.body  # read and judged by the view: fields are missing
    assert "sessionId" in sent.json()["error"]
    assert sent.pulled == len(chunks)


async def test_the_movie_refusal_counts_against_the_tokens_user(auth):
    sent = await call("/api/v1/projects", json_chunks(), headers=auth)
    assert_family_413(sent, "M")
    assert sent.headers["x-ratelimit-tier"] == "free"
    assert (
        int(sent.headers["x-ratelimit-remaining"]) == django_settings.MOVIE_RATE_LIMITS["free"] - 1
    )


async def test_multipart_to_a_json_route_has_the_json_limit(auth):
    """Only upload routes take bodies past the JSON limit, whatever the Content-Type says."""
    chunks, size = multipart_chunks(4000)
    sent = await call("/api/v1/projects", chunks, content_type=MULTIPART, headers=auth)
    assert_family_413(sent, "M")
    assert sent.pulled == PULLED_AT_LIMIT
    sent = await call(
        "/api/v1/projects",
        chunks,
        content_type=MULTIPART,
        declared=size,
        headers=auth,
    )
    assert_family_413(sent, "M")
    assert sent.pulled == 0


async def test_outside_the_api_a_body_is_limited_too():
    sent = await call(
        "/admin/login/", json_chunks(), content_type="application/x-www-form-urlencoded"
    )
    assert sent.status == 413 and sent.headers["connection"] == "close"
    assert sent.headers["content-type"].startswith("text/plain")
    assert sent.pulled == PULLED_AT_LIMIT


# --- uploads: the caller's tier limit times the files the route takes --------------------------


async def test_a_media_upload_stops_at_the_tiers_bound(auth):
    bound = FREE_FILE * MAX_FILES + LIMIT
    chunks, size = multipart_chunks(bound)  # past the bound with the multipart framing
    assert size > bound
    sent = await call("/api/v1/media/upload", chunks, content_type=MULTIPART, headers=auth)
    message = assert_family_413(sent, "M", "FILE_TOO_LARGE")
    assert "free" in message and str(FREE_FILE) in message and str(bound) in message
    assert sent.pulled == bound // CHUNK + 1
    sent = await call(
        "/api/v1/media/upload",
        chunks,
        content_type=MULTIPART,
        declared=size,
        headers=auth,
    )
    assert_family_413(sent, "M", "FILE_TOO_LARGE")
    assert sent.pulled == 0
    assert not await database_sync_to_async(Media.objects.exists)()


async def test_a_pro_caller_may_send_more(pro_auth):
    chunks, size = multipart_chunks(FREE_FILE * MAX_FILES + LIMIT)
    sent = await call(
        "/api/v1/media/upload",
        chunks,
        content_type=MULTIPART,
        declared=size,  # Django parses a multipart body only with its length
        headers=pro_auth,
    )
    # Read whole and judged by the view: the project does not exist.
    movie = sent.json()
    assert sent.status == 404 and movie["error"]["code"] == "NOT_FOUND", movie
    assert sent.pulled == len(chunks)


async def test_a_chat_upload_takes_one_file_of_the_tier(auth):
    bound = FREE_FILE + LIMIT
    chunks, size = multipart_chunks(bound)
    assert size < FREE_FILE * MAX_FILES + LIMIT  # a media upload would read it
    sent = await call("/api/v1/chat/upload", chunks, content_type=MULTIPART, headers=auth)
    assert_family_413(sent, "M", "FILE_TOO_LARGE")
    assert sent.pulled == bound // CHUNK + 1


async def test_an_upload_without_a_valid_token_has_the_json_limit():
    chunks, _ = multipart_chunks(FREE_FILE)
    for headers in ([], [(b"authorization", b"Bearer not-a-token")]):
        sent = await call("/api/v1/media/upload", chunks, content_type=MULTIPART, headers=headers)
        message = assert_family_413(sent, "M")
        assert "token" in message
        assert sent.pulled == PULLED_AT_LIMIT


# --- the chat upload applies the tier's file limit as media upload does -------------------


def png(size=(16, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (255, 0, 0)).save(buffer, "PNG")
    return buffer.getvalue()


class RecordingUploadHandler(TemporaryFileUploadHandler):
    """Django's handler for files on disk, noting the most bytes it stored of one file."""

    most_stored = 0

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.stored = 0

    def receive_data_chunk(self, raw_data, start):
        self.stored += len(raw_data)
        RecordingUploadHandler.most_stored = max(RecordingUploadHandler.most_stored, self.stored)
        return super().receive_data_chunk(raw_data, start)


@pytest.fixture
def chat_session(user):
    from projects.models import Project

    project = Project.objects.create(owner=user, title="Rooftop Heist", genre="Action")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(user=user).access}")
    answer = client.post(
        "/api/v1/chat/message",
        {"projectId": project.pk, "message": "An action movie"},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    return client, project, answer.json()["session"]["id"]


def chat_upload(client, project, session_id, data: bytes):
    file = io.BytesIO(data)
    file.name = "ref.png"
    return client.post(
        "/api/v1/chat/upload",
        {"projectId": project.pk, "sessionId": session_id, "file": file},
        format="multipart",
    )


def test_a_chat_upload_over_the_tier_limit_is_file_too_large_and_not_stored(chat_session, settings):
    client, project, session_id = chat_session
    settings.FILE_UPLOAD_HANDLERS = [f"{__name__}.RecordingUploadHandler"]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
    RecordingUploadHandler.most_stored = 0
    data = png((400, 400)) + b"\0" * 5000
    limit = len(data) - 100
    settings.MEDIA_UPLOAD_MAX_BYTES = {"free": limit, "pro": 10**9, "enterprise": 10**9}
    error = movie_error(chat_upload(client, project, session_id, data), 413, "FILE_TOO_LARGE")
    # Per file, as media upload says it, naming the chat upload's own field.
    assert error["details"] == [
        {
            "field": "file",
            "message": f"FILE_TOO_LARGE: ref.png: {len(data)} bytes is over the {limit}-byte "
            "limit of the free tier",
        }
    ]
    # Never more of the file than the tier allows was written anywhere.
    assert RecordingUploadHandler.most_stored <= limit
    assert not Media.objects.exists()
    # At the limit it is kept.
    settings.MEDIA_UPLOAD_MAX_BYTES = {"free": len(data), "pro": 10**9, "enterprise": 10**9}
    assert chat_upload(client, project, session_id, data).status_code == 200
    assert Media.objects.get().size == len(data)


def test_a_chat_upload_of_another_type_names_the_file_field(chat_session):
    client, project, session_id = chat_session
    error = movie_error(
        chat_upload(client, project, session_id, b"just text\n" * 10), 415, "UNSUPPORTED_FORMAT"
    )
    assert [d["field"] for d in error["details"]] == ["file"]


# --- the real server ------------------------------------------------------------------------

STATUS_LINE = re.compile(rb"^HTTP/1\.1 (\d{3}) ")
# The live server's JSON limit: its settings come from the same environment, and the
# `small_limits` fixture changes only this process's.
SERVER_LIMIT = django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _read_answer(sock: socket.socket) -> tuple[int, bytes]:
    """The whole answer, read until the server closes the connection."""
    data = b""
    while True:
        try:
            part = sock.recv(65536)
        except ConnectionResetError:
            break
        if not part:
            break
        data += part
    found = STATUS_LINE.match(data)
    assert found, data[:200]
    return int(found.group(1)), data.partition(b"\r\n\r\n")[2]


def _open(server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def test_the_live_server_refuses_a_declared_length_without_reading(asgi_live_server):  # noqa: F811
    with _open(asgi_live_server) as sock:
        started = time.monotonic()
        sock.sendall(
            b"POST /api/v1/projects HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n"
        )
        status, body = _read_answer(sock)
    assert status == 413 and json.loads(body)["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert time.monotonic() - started < 5


def test_the_live_server_stops_a_chunked_body_at_the_limit(asgi_live_server):  # noqa: F811
    limit = SERVER_LIMIT
    piece = b"x" * 65536
    with _open(asgi_live_server) as sock:
        sock.sendall(
            b"POST /api/chats HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        for _ in range(limit // len(piece) + 1):
            sock.sendall(chunk)
        # No last chunk: a server that waits for the whole body never answers.
        status, body = _read_answer(sock)
    assert status == 413
    assert json.loads(body) == {
        "statusCode": 413,
        "statusMessage": f"Request body too large (limit {limit} bytes)",
    }
