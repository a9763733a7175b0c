"""`python -m config.serve [daphne options] config.asgi:application`: daphne with this
project's WebSocket limits.

Plain daphne accepts messages up to 1 MiB and, past it, drops the TCP connection without a
close frame (autobahn's `failByDrop`). The contract allows 2 MiB frames and wants a refusal
that says why, so this entry point
- sets the message and frame limits to `WEBSOCKET_MAX_MESSAGE_BYTES` (2 MiB) unless
  `--websocket-max-message-size` / `--websocket-max-frame-size` are given, and
- fails a connection with a closing handshake instead of a drop, so a message over the limit
  gets close code 1009 (message too big) with autobahn's reason, e.g. "received WebSocket
  message size 2621440 exceeds payload limit of 2097152 octets".
Every other option is daphne's own.
"""

from __future__ import annotations

from daphne.cli import CommandLineInterface
from daphne.server import Server

FROM_SETTINGS = None


class LimitedServer(Server):
    """daphne's server with the settings' message limit and failures closed, not dropped."""

    def __init__(self, *args, **kwargs):
        from django.conf import settings  # the application, hence settings, is loaded by now

        for option in ("websocket_max_message_size", "websocket_max_frame_size"):
            if kwargs.get(option) is FROM_SETTINGS:
                kwargs[option] = settings.WEBSOCKET_MAX_MESSAGE_BYTES
        super().__init__(*args, **kwargs)

    @property
    def ws_factory(self):
        return self._ws_factory

    @ws_factory.setter
    def ws_factory(self, factory):
        # daphne makes the factory in run() and sets its own options right after; failByDrop
        # is not among them, so setting it here holds.
        factory.setProtocolOptions(failByDrop=False)
        self._ws_factory = factory


class LimitedCommandLineInterface(CommandLineInterface):
    description = "daphne with the project's WebSocket limits (config/serve.py)"
    server_class = LimitedServer

    def __init__(self):
        super().__init__()
        self.parser.set_defaults(
            websocket_max_message_size=FROM_SETTINGS, websocket_max_frame_size=FROM_SETTINGS
        )


def main(argv: list[str] | None = None) -> None:
    import sys

    LimitedCommandLineInterface().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
