"""Credentials in query strings never reach a log line (security issue, item 5).

A socket's `?token=<JWT>` and a signed media link's `?token=` used to be written into the
access log at the default level. The live test reads what the production server process
really printed.
"""

from __future__ import annotations

import io
import logging
import logging.config

import httpx
import pytest
from websockets.sync.client import connect

from config.logredact import REDACTED, RedactCredentials, redact
from tests.live import LiveServer

SOCKET_TOKEN = "eyJhbGciOiJIUzI1NiJ9.c29ja2V0LXRva2Vu.c2VjcmV0LXNpZ25hdHVyZQ"
LINK_TOKEN = "bWVkaWEtbGluay10b2tlbg:1vXyZa:c2lnbmVkLWxpbmstc2lnbmF0dXJl"


@pytest.mark.parametrize(
    "line, expected",
    [
        (
            "GET /ws?sessionId=s1&token=abc.def HTTP/1.1",
            f"GET /ws?sessionId=s1&token={REDACTED} HTTP/1.1",
        ),
        ("/d?TOKEN=x&y=2", f"/d?TOKEN={REDACTED}&y=2"),
        (
            '"GET /a?access_token=q;refresh_token=r#f"',
            f'"GET /a?access_token={REDACTED};refresh_token={REDACTED}#f"',
        ),
        ("/a?tokens=kept&mytoken=kept", "/a?tokens=kept&mytoken=kept"),
        (
            "/a?api_key=k&password=p&signature=s",
            f"/a?api_key={REDACTED}&password={REDACTED}&signature={REDACTED}",
        ),
        ("no query at all", "no query at all"),
    ],
)
def test_credential_values_are_replaced_and_nothing_else(line, expected):
    assert redact(line) == expected


def test_the_filter_rewrites_the_message_and_its_arguments():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactCredentials())
    log = logging.getLogger("tests.redaction")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning('%s - "GET %s" %d', "127.0.0.1:5", "/m?token=one", 200)
        log.warning("opened /ws?token=two")
        log.warning("%(path)s", {"path": "/x?token=three"})
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    assert "one" not in text and "two" not in text and "three" not in text
    assert text.count(REDACTED) == 3
    assert '"GET /m?token=[redacted]" 200' in text


def test_django_logging_redacts_through_its_console_handler(settings):
    config = {**settings.LOGGING, "disable_existing_loggers": False}
    logging.config.dictConfig(config)
    handler = logging.getLogger().handlers[0]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        # What Channels' runserver logs for each request, through the root logger's handler.
        logging.getLogger("django.channels.server").info(
            "HTTP GET %s 200", f"/api/v1/media/media-1/download?token={LINK_TOKEN}"
        )
    finally:
        handler.setStream(previous)
    assert LINK_TOKEN not in stream.getvalue()
    assert f"download?token={REDACTED} 200" in stream.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_served_access_log_never_holds_a_token(tmp_path):
    from django.db import connection

    server = LiveServer(
        db_name=connection.settings_dict["NAME"],
        log_path=tmp_path / "server.log",
    ).start()
    try:
        link = f"{server.url}/api/v1/media/media-unknown/download?token={LINK_TOKEN}&x=1"
        assert httpx.get(link, timeout=10).status_code in {401, 403, 404}
        socket = server.url.replace("http", "ws") + f"/ws?sessionId=nope&token={SOCKET_TOKEN}"
        try:
            with connect(socket, open_timeout=10) as ws:
                ws.recv(timeout=10)
        except Exception:
            pass  # refused or closed: either way the server has logged the attempt
        # A last request that must be logged after the two above: when it is in the log,
        # so are they.
        assert httpx.get(f"{server.url}/api/health?marker=done", timeout=10).status_code == 200
        log = _log_until(server, "marker=done")
    finally:
        server.stop()
    assert LINK_TOKEN not in log and SOCKET_TOKEN not in log
    assert f"download?token={REDACTED}&x=1" in log
    assert f"/ws?sessionId=nope&token={REDACTED}" in log


def _log_until(server: LiveServer, marker: str, timeout: float = 15.0) -> str:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = server.log_path.read_text(errors="replace")
        if marker in text:
            return text
        time.sleep(0.1)
    raise AssertionError(f"{marker!r} never reached the server's log:\n{server.log_tail()}")
