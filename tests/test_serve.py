"""`python -m config.serve`: daphne's command line with the settings' WebSocket limit (unless
an option says otherwise) and failures closed with a code instead of a dropped connection.
The live test (tests/realtime/test_live_frame_limit.py) sends the frames; this one checks
the wiring without starting a server."""

from __future__ import annotations

from daphne.ws_protocol import WebSocketFactory

from config.serve import LimitedCommandLineInterface, LimitedServer

APP = "config.asgi:application"


def parsed(*argv: str):
    return LimitedCommandLineInterface().parser.parse_args([*argv, APP])


def server(args) -> LimitedServer:
    return LimitedServer(
        application=None,
        endpoints=["tcp:port=0:interface=127.0.0.1"],
        websocket_max_message_size=args.websocket_max_message_size,
        websocket_max_frame_size=args.websocket_max_frame_size,
    )


def test_the_limit_comes_from_settings_unless_an_option_sets_it(settings):
    settings.WEBSOCKET_MAX_MESSAGE_BYTES = 3 * 1024 * 1024
    default = server(parsed())
    assert default.websocket_max_message_size == 3 * 1024 * 1024
    assert default.websocket_max_frame_size == 3 * 1024 * 1024
    explicit = server(parsed("--websocket-max-message-size", "1000"))
    assert explicit.websocket_max_message_size == 1000
    assert explicit.websocket_max_frame_size == 3 * 1024 * 1024


def test_a_failed_connection_is_closed_with_a_code_not_dropped():
    instance = server(parsed())
    instance.ws_factory = WebSocketFactory(instance, server="daphne")
    assert instance.ws_factory.failByDrop is False
