"""The Vercel AI SDK itself (the `ai` package pinned in tests/js/package.json) against a live
server on the offline provider: `DefaultChatTransport` sends a message to family A, and
`readUIMessageStream` assembles the reply, which must be the reply the server stored, under
the id the stream announced; a stream dropped mid-way is resumed with the SDK's
`reconnectToStream` (GET /api/chats/{id}/stream) without storing the reply twice.

The scripts are tests/js/chat.mjs and tests/js/resume.mjs; the `node` fixture says when these
tests skip (no Node, no installed packages) and when they fail instead (under CI).
"""

from __future__ import annotations

import json
import subprocess

import pytest

from accounts.services import tokens_for_user
from tests.factories import UserFactory
from tests.js_client.conftest import JS_DIR

pytestmark = pytest.mark.django_db(transaction=True)

OFFLINE_TAG = "[offline provider]"
NODE_TIMEOUT = 60


def run_node(node: str, script: str, *args: str, server=None) -> dict:
    """Run a script of tests/js and return the JSON line it printed last."""
    completed = subprocess.run(
        [node, script, *args],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=False,
    )
    log = f"\n--- server log ---\n{server.log_tail()}" if server is not None else ""
    assert completed.returncode == 0, (
        f"node {script} exited with {completed.returncode}\n"
        f"stdout: {completed.stdout}\nstderr: {completed.stderr}{log}"
    )
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    assert lines, f"node {script} printed nothing; stderr: {completed.stderr}"
    return json.loads(lines[-1])


def chat_create(http, prompt: str, **headers) -> str:
    """Create a chat over HTTP (the identity cookie lands in the client's jar)."""
    response = http.post("/api/chats", json={"prompt": prompt}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def cookie_identity(http) -> str:
    """The Cookie header a browser would send with `credentials: 'include'`."""
    value = http.cookies.get("chat-session")
    assert value, f"no chat-session cookie was set: {dict(http.cookies)}"
    return f"chat-session={value}"


def stored_messages(http, chat_id: str, **headers) -> list[dict]:
    response = http.get(f"/api/chats/{chat_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def test_use_chat_transport_streams_the_stored_reply(node, asgi_live_server, live_http):
    chat_id = chat_create(live_http, "A lighthouse keeper's first night")
    said = "Tell me about the lighthouse on the cliff"

    result = run_node(
        node,
        "chat.mjs",
        asgi_live_server.url,
        chat_id,
        cookie_identity(live_http),
        said,
        server=asgi_live_server,
    )

    assert result["role"] == "assistant"
    assert "text" in result["partTypes"]
    assert OFFLINE_TAG in result["text"]
    messages = stored_messages(live_http, chat_id)
    assert [m["content"] for m in messages if m["role"] == "user"][-1] == said
    replies = [m for m in messages if m["role"] == "assistant"]
    assert len(replies) == 1, replies
    assert replies[0]["id"] == result["messageId"]
    assert replies[0]["content"] == result["text"]


def test_use_chat_transport_with_a_bearer_token(node, asgi_live_server, live_http):
    token = tokens_for_user(user=UserFactory()).access
    bearer = {"Authorization": f"Bearer {token}"}
    chat_id = chat_create(live_http, "Signed in", **bearer)
    live_http.cookies.clear()

    result = run_node(
        node, "chat.mjs", asgi_live_server.url, chat_id, f"Bearer {token}", server=asgi_live_server
    )

    replies = [m for m in stored_messages(live_http, chat_id, **bearer) if m["role"] == "assistant"]
    assert [(m["id"], m["content"]) for m in replies] == [(result["messageId"], result["text"])]
    assert OFFLINE_TAG in result["text"]


def test_a_dropped_stream_resumes_with_reconnect_to_stream(node, asgi_live_server, live_http):
    chat_id = chat_create(live_http, "A long climb")

    result = run_node(
        node,
        "resume.mjs",
        asgi_live_server.url,
        chat_id,
        cookie_identity(live_http),
        "Walk me up all the stairs of the old lighthouse, step by step, to the lamp room",
        server=asgi_live_server,
    )

    assert result["partsBeforeDrop"][0] == "start", result
    assert result["resumed"] is True, (
        f"GET /api/chats/{chat_id}/stream answered 204 right after the drop, while the reply "
        f"should still be in flight: {result}"
    )
    assert result["messageId"] == result["firstMessageId"]
    assert result["text"].startswith(result["partialText"])
    assert OFFLINE_TAG in result["text"]
    replies = [m for m in stored_messages(live_http, chat_id) if m["role"] == "assistant"]
    assert [(m["id"], m["content"]) for m in replies] == [(result["messageId"], result["text"])]
    # Nothing is in flight any more.
    assert live_http.get(f"/api/chats/{chat_id}/stream").status_code == 204
