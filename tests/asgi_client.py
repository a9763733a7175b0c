"""The test client's handler that sends each request through the production ASGI application.

Django's test `Client` builds a WSGI-style environ and hands it to its handler, which runs
Django's chain directly. `AsgiHandler` takes its place: it turns the environ into an ASGI HTTP
scope and drives `config.asgi.application` (the body limit, then Django's ASGI handler with
settings.MIDDLEWARE), as a server would, then turns the ASGI messages back into the
`HttpResponse` the client's callers read.

It runs the application with asgiref's `async_to_sync` from the test's own thread, and asgiref
runs the application's thread-sensitive sync code (views, ORM calls) on that calling thread:
the test's database connection and open transaction are the ones the request sees.

CSRF is checked as in production: every API view is CSRF-exempt, so `enforce_csrf_checks`
changes nothing here (Django's test handler could only switch it off through a private
attribute of the request).
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus

from asgiref.sync import async_to_sync
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpResponse, StreamingHttpResponse

# Answers that never carry a body, whatever the application sent (what a server does).
NO_BODY_STATUSES = {HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED}


def scope_from_environ(environ: dict) -> dict:
    """The ASGI HTTP scope of the request that a WSGI environ describes."""
    headers = [
        (key[5:].replace("_", "-").lower().encode("latin-1"), str(value).encode("latin-1"))
        for key, value in environ.items()
        if key.startswith("HTTP_")
    ]
    for key, name in (("CONTENT_TYPE", b"content-type"), ("CONTENT_LENGTH", b"content-length")):
        if environ.get(key):
            headers.append((name, str(environ[key]).encode("latin-1")))
    server = (environ.get("SERVER_NAME", "testserver"), int(environ.get("SERVER_PORT", 80)))
    if not environ.get("HTTP_HOST"):
        default_port = 443 if environ.get("wsgi.url_scheme") == "https" else 80
        host = server[0] if server[1] == default_port else f"{server[0]}:{server[1]}"
        headers.append((b"host", host.encode("latin-1")))
    # WSGI carries the path as bytes decoded as Latin-1; ASGI carries it decoded as UTF-8.
    raw_path = environ.get("PATH_INFO", "/").encode("latin-1")
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": environ["REQUEST_METHOD"].upper(),
        "scheme": environ.get("wsgi.url_scheme", "http"),
        "path": raw_path.decode("utf-8", errors="surrogateescape"),
        "raw_path": raw_path,
        "query_string": environ.get("QUERY_STRING", "").encode("latin-1"),
        "root_path": environ.get("SCRIPT_NAME", ""),
        "headers": headers,
        "client": (environ.get("REMOTE_ADDR", "127.0.0.1"), int(environ.get("REMOTE_PORT", 0))),
        "server": server,
    }


async def run_application(application, scope: dict, body: bytes) -> tuple[dict, list[dict]]:
    """Drive `application` with one request; return its response start and body messages.

    The body arrives in one `http.request`; `http.disconnect` answers only once the response
    is complete, as from a client that waits for its answer."""
    answered = asyncio.Event()
    body_sent = False
    start: dict = {}
    chunks: list[dict] = []

    async def receive() -> dict:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message)
            if not message.get("more_body", False):
                answered.set()

    await application(scope, receive, send)
    answered.set()
    return start, chunks


def response_from_messages(method: str, start: dict, chunks: list[dict]) -> HttpResponse:
    """The Django response that the ASGI messages describe: status, every header, cookies
    in `response.cookies`, and the body (streamed when the application streamed it)."""
    status = start["status"]
    parts = [message.get("body", b"") for message in chunks]
    if method == "HEAD" or status in NO_BODY_STATUSES or status < 200:
        parts = []
    # Django sends a streamed response as its parts, then an empty closing message; a plain
    # response's last message carries its last bytes.
    streamed = len(parts) > 1 and parts[-1] == b""
    if streamed:
        response = StreamingHttpResponse(iter(parts), status=status)
    else:
        response = HttpResponse(b"".join(parts), status=status)
    del response.headers["Content-Type"]
    for raw_name, raw_value in start.get("headers", []):
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name.lower() == "set-cookie":
            response.cookies.load(value)
        else:
            response.headers[name] = value
    return response


class AsgiHandler:
    """A test client handler: the environ in, through the ASGI application, a response out."""

    def __init__(self, enforce_csrf_checks: bool = False, application=None):
        self.enforce_csrf_checks = enforce_csrf_checks
        self.application = application

    def __call__(self, environ: dict) -> HttpResponse:
        if self.application is None:
            from config.asgi import application

            self.application = application
        body = environ["wsgi.input"].read() if "wsgi.input" in environ else b""
        scope = scope_from_environ(environ)
        # The test's connection stays open through the request, as Django's test handlers
        # keep it: closing it would end the test's transaction.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            start, chunks = async_to_sync(run_application)(self.application, scope, body)
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        response = response_from_messages(scope["method"], start, chunks)
        # Client.request reads the request back from the response (its urlconf).
        response.wsgi_request = WSGIRequest(environ)
        return response
