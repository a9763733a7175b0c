"""Assertions shared by the contract tests: JSON answers and each family's error body."""

from __future__ import annotations


def json_body(response, status: int = 200):
    """The response has `status`, is JSON, and its decoded body is returned."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def game_error(response, status: int, *fragments: str) -> str:
    """The family G error body: exactly `{"error": str}`, naming the problem."""
    body = json_body(response, status)
    assert isinstance(body, dict) and set(body) == {"error"}, body
    message = body["error"]
    assert isinstance(message, str) and message.strip()
    for fragment in fragments:
        assert fragment.lower() in message.lower(), (fragment, message)
    return message


def movie_error(response, status: int, code: str) -> dict:
    """The family M error body; returns its `error` object."""
    body = json_body(response, status)
    assert set(body) == {"success", "error", "requestId", "timestamp"}, body
    assert body["success"] is False
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]
