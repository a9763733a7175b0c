"""`python -m config.serve_uvicorn`: uvicorn with the project's WebSocket limit, no proxy
headers and daphne's spelling of the options. The live tests send the frames when run with
`LIVE_SERVER_MODULE=config.serve_uvicorn`; this one checks the wiring without a server."""

from __future__ import annotations

import uvicorn

from config.serve_uvicorn import LingeringCloseProtocol, parse, uvicorn_options


def test_the_options_carry_the_contract(settings):
    settings.WEBSOCKET_MAX_MESSAGE_BYTES = 3 * 1024 * 1024
    options = uvicorn_options(parse(["-b", "0.0.0.0", "-p", "0", "--workers", "2"]))
    assert options["app"] == "config.asgi:application"
    assert (options["host"], options["port"], options["workers"]) == ("0.0.0.0", 0, 2)
    assert options["ws_max_size"] == 3 * 1024 * 1024
    # The sans-I/O websockets implementation closes an oversize message with 1009 and a
    # reason; this subclass lingers so the client reads it (tests/realtime/test_live_frame_limit).
    assert options["ws"] is LingeringCloseProtocol
    # The rate limits key on the client address: never taken from X-Forwarded-For here.
    assert options["proxy_headers"] is False
    assert options["ws_per_message_deflate"] is False
    assert options["lifespan"] == "off"
    assert options["backlog"] >= 1024


def test_uvicorn_accepts_every_option():
    config = uvicorn.Config(**uvicorn_options(parse(["-v", "0", "bench.asgi:application"])))
    assert config.app == "bench.asgi:application"
    assert config.proxy_headers is False
    assert config.access_log is False
    assert config.ws is LingeringCloseProtocol
