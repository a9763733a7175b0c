"""`LOG_FORMAT=json`: one JSON object per line, one line per request with what an operator
searches by (operations issue, item 4), and never a token."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from accounts.services import tokens_for_user
from config.asgi import application
from config.logformat import JsonFormatter
from tests.factories import UserFactory
from tests.live import LiveServer
from tests.sse import parse_sse_text

REQUEST_FIELDS = {"request_id", "family", "route", "method", "status", "duration_ms"}


def test_a_record_is_one_json_object_with_its_fields():
    record = logging.LogRecord(
        "aistory.request", logging.INFO, __file__, 1, "GET %s", ("/x",), None
    )
    record.request_id = "req-1"
    record.status = 200
    record.user_id = None  # unknown fields are left out, not written as null
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["message"] == "GET /x" and entry["level"] == "INFO"
    assert entry["logger"] == "aistory.request" and entry["time"].endswith("Z")
    assert entry["request_id"] == "req-1" and entry["status"] == 200
    assert "user_id" not in entry


@pytest.fixture
def request_records(caplog):
    logger = logging.getLogger("aistory.request")
    previous = logger.level
    logger.setLevel(logging.INFO)  # what LOG_FORMAT=json sets
    caplog.set_level(logging.INFO, logger="aistory.request")
    yield lambda: [r for r in caplog.records if r.name == "aistory.request"]
    logger.setLevel(previous)


@pytest.mark.django_db
def test_a_request_line_names_the_request_its_route_and_its_user(client, request_records):
    user = UserFactory()
    token = tokens_for_user(user=user).access
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get("/api/v1/projects", HTTP_X_REQUEST_ID="trace-42")
    assert response.status_code == 200
    (record,) = request_records()
    assert record.request_id == "trace-42" == response["X-Request-ID"]
    assert (record.family, record.route, record.method, record.status) == (
        "M",
        "api/v1/projects",
        "GET",
        200,
    )
    assert record.user_id == user.public_id
    assert record.duration_ms >= 0 and record.turn_id is None
    assert token not in json.dumps(vars(record), default=str)


@pytest.mark.django_db(transaction=True)
async def test_a_streamed_reply_line_names_the_reply(request_records):
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        chat_id = (await http.post("/api/chats", json={"prompt": "Plan a picnic"})).json()["id"]
        response = await http.post(
            f"/api/chats/{chat_id}",
            json={"messages": [{"role": "user", "content": "What to bring?"}]},
        )
    parts = parse_sse_text(response.text).parts()
    start = next(part for part in parts if part.get("type") == "start")
    streamed = [r for r in request_records() if r.route == "api/chats/<str:chat_id>"]
    assert [r.turn_id for r in streamed] == [start["messageId"]]
    assert streamed[0].family == "A" and streamed[0].status == 200


@pytest.mark.django_db(transaction=True)
def test_the_served_log_is_json_lines_with_one_line_per_request(tmp_path):
    from django.db import connection

    server = LiveServer(
        db_name=connection.settings_dict["NAME"],
        log_path=tmp_path / "server.log",
        extra_env={"LOG_FORMAT": "json"},
    ).start()
    try:
        marker = "/api/v1/media/media-none/download?token=secret-link-token"
        assert httpx.get(f"{server.url}{marker}", timeout=10).status_code in {403, 404}
        assert httpx.get(f"{server.url}/api/health", timeout=10).status_code == 200
        lines = _lines_until(server, '"route": "api/health"')
    finally:
        server.stop()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    requests = [e for e in entries if e["logger"] == "aistory.request"]
    download = [e for e in requests if e.get("route", "").endswith("download")]
    assert len(download) == 1 and set(download[0]) >= REQUEST_FIELDS
    assert download[0]["family"] == "M" and download[0]["status"] in {403, 404}
    assert not [e for e in entries if e["logger"] == "uvicorn.access"]
    assert "secret-link-token" not in "\n".join(lines)


def _lines_until(server: LiveServer, marker: str, timeout: float = 15.0) -> list[str]:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = server.log_path.read_text(errors="replace")
        if marker in text:
            return [line for line in text.splitlines() if line.strip()]
        time.sleep(0.1)
    raise AssertionError(f"{marker!r} never reached the server's log:\n{server.log_tail()}")
