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

And for sockets in numbers (bench/fanout.py, issue 10):
- every listening endpoint gets a listen backlog of `--backlog` (1024 unless given; the kernel
  caps it at net.core.somaxconn) unless its description sets one: Twisted's default of 50
  overflowed when 500 clients connected at once, and the refused SYNs came back only after a
  1 s retransmit;
- once the application is loaded, everything alive is moved out of the garbage collector's
  reach (`gc.freeze()`): Django, the URLconf, the models and the libraries are never garbage,
  and a full collection walked them all every few seconds under load, for 120-240 ms each;
- glibc's allocator limited to two arenas and no per-thread cache (`config.startup`
  ALLOCATOR_ENVIRONMENT; the process restarts itself once with them, unless they are set).
Every other option is daphne's own.
"""

from __future__ import annotations

import functools

from daphne.cli import CommandLineInterface
from daphne.server import Server

from config.logredact import redacting_action_logger
from config.startup import freeze_start_up_objects, restart_with_tuned_allocator

FROM_SETTINGS = None
DEFAULT_BACKLOG = 1024
# Endpoint kinds whose Twisted description takes `backlog=`.
LISTENING_KINDS = ("tcp", "tcp6", "ssl", "unix")


def with_backlog(endpoint: str, backlog: int) -> str:
    """`endpoint` (a Twisted server endpoint description) with `backlog=` unless it has one."""
    kind = endpoint.split(":", 1)[0]
    if kind not in LISTENING_KINDS or "backlog=" in endpoint:
        return endpoint
    return f"{endpoint}:backlog={backlog}"


class LimitedServer(Server):
    """daphne's server with the settings' message limit and failures closed, not dropped."""

    def __init__(self, *args, listen_backlog: int = DEFAULT_BACKLOG, **kwargs):
        from django.conf import settings  # the application, hence settings, is loaded by now

        for option in ("websocket_max_message_size", "websocket_max_frame_size"):
            if kwargs.get(option) is FROM_SETTINGS:
                kwargs[option] = settings.WEBSOCKET_MAX_MESSAGE_BYTES
        kwargs["endpoints"] = [
            with_backlog(endpoint, listen_backlog) for endpoint in kwargs.get("endpoints") or []
        ]
        kwargs["action_logger"] = redacting_action_logger(kwargs.get("action_logger"))
        super().__init__(*args, **kwargs)

    def run(self):
        freeze_start_up_objects()
        super().run()

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
        self.parser.add_argument(
            "--backlog",
            type=int,
            default=DEFAULT_BACKLOG,
            help="Listen backlog of each endpoint that does not set its own "
            f"(default {DEFAULT_BACKLOG})",
        )

    def run(self, args):
        backlog = self.parser.parse_args(args).backlog
        self.server_class = functools.partial(LimitedServer, listen_backlog=backlog)
        super().run(args)


def main(argv: list[str] | None = None) -> None:
    import sys

    if argv is None:  # run as a program: start with the allocator tuned for serving
        restart_with_tuned_allocator()
    LimitedCommandLineInterface().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
