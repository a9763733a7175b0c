"""Assertions shared by the tests: JSON answers, each family's error body, and the cost per
kilobyte of a reader of client input."""

from __future__ import annotations

import time


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


def seconds_per_kb(read, value, size: int | None = None, *, work: int = 1024 * 1024) -> float:
    """The best of three timings of `read(value)`, per kilobyte of `value` (`size` bytes, else
    its length), each repeated over about `work` bytes. The linear-cost tests of the readers of
    client input compare it only with itself on a smaller input (a busy machine slows both
    alike)."""
    size = len(value) if size is None else size
    rounds = max(1, work // size)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(rounds):
            read(value)
        best = min(best, time.perf_counter() - start)
    return best / (rounds * size / 1024)
