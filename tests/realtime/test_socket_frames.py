"""The game socket reads frames with the REST parser and checks their fields with the REST
routes' serializers: deep nesting, non-finite numbers, NUL and lone surrogates get an `info`
frame in the words REST answers with, the socket stays open and nothing is stored."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers

from tests.factories import GameSessionFactory
from tests.realtime.test_game_socket import (
    expect_info,
    expect_turn,
    socket,
    stored_log,
    ws_path,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def fresh_channel_layer():
    """A new layer per test, as in test_game_socket: a Redis layer belongs to one loop."""
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    yield
    layer = channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    if layer is not None:
        await layer.flush()  # the pub/sub layer closes its connections of this loop


@pytest.fixture
def sid() -> str:
    return str(GameSessionFactory().pk)


def rest_error(client, sid: str, raw_content: str) -> str:
    body = f'{{"sessionId": "{sid}", "role": "user", "content": {raw_content}}}'
    response = client.post("/api/messages", body, content_type="application/json")
    assert response.status_code == 400, response.content
    return response.json()["error"]


@pytest.mark.parametrize(
    "raw_content",
    ['"a\\u0000b"', '"a\\ud800b"', '"\\udc00"', "12", "null", '""'],
)
async def test_socket_refuses_a_user_line_in_the_words_rest_uses(client, sid, raw_content):
    expected = await sync_to_async(rest_error)(client, sid, raw_content)
    async with socket(ws_path(sid)) as ws:
        await ws.send_to(text_data=f'{{"action": "user_message", "content": {raw_content}}}')
        assert await expect_info(ws) == expected
        await ws.send_json_to({"action": "user_message", "content": "Still here"})
        await expect_turn(ws, "Still here")
    assert [content for _, role, content in await stored_log(sid) if role == "user"] == [
        "Still here"
    ]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "Invalid JSON frame: JSON nested deeper than 64 levels"),
        ('{"action": "typing", "value": 1e400}', "value: number out of range"),
        ('{"action": "typing", "value": NaN}', "value: number out of range"),
        (
            '{"action": "image", "prompt": "a\\ud800"}',
            "prompt: Surrogate characters are not allowed: U+D800",
        ),
        ('{"action": "image", "prompt": "x", "size": "1x1"}', 'size: "1x1" is not a valid choice'),
    ],
)
async def test_refused_frames_get_info_and_the_socket_stays_open(sid, frame, message):
    async with socket(ws_path(sid)) as ws:
        await ws.send_to(text_data=frame)
        assert await expect_info(ws) == message
        await ws.send_to(text_data=json.dumps({"action": "user_message", "content": "ok"}))
        await expect_turn(ws, "ok")
