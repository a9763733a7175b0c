"""`python -m config.serve_uvicorn [-b HOST] [-p PORT] [--workers N] [-v 0|1|2] [APP]`:
uvicorn with this project's WebSocket contract, for production (see the README's "Serving").

It takes daphne's spelling of the common options (`-b`, `-p`, `-v`, the application path
last, default `config.asgi:application`), so `config.serve` (daphne) and this one start the
same way, and sets what the project needs:
- WebSocket messages up to `WEBSOCKET_MAX_MESSAGE_BYTES` (2 MiB); a larger one is refused
  with close code 1009 (message too big) and a reason, then a lingering close
  (`LingeringCloseProtocol`), so the client reads the refusal instead of a reset;
- no permessage-deflate (daphne offers none either; it costs CPU on every frame);
- no proxy-header rewriting: uvicorn would otherwise take the client address from
  `X-Forwarded-For` when the peer is 127.0.0.1, and the rate limits key on that address.
  The project reads forwarded addresses itself, only as far as `TRUSTED_PROXY_COUNT` allows;
- no `Server` header;
- a graceful restart (`config.shutdown`): the application is wrapped to answer the lifespan
  protocol, which Django does not speak, and to mark the process as shutting down on
  SIGTERM; replies in flight get `SHUTDOWN_GRACE_SECONDS` to finish, then are stored as
  stopped; uvicorn waits for them that long plus a margin, closes sockets with 1012, and the
  process exits 0;
- `--workers N`: N processes accepting on one port (uvicorn's supervisor shares the socket);
- a listen backlog of 2048, so a burst of connects is not refused;
- once the application is loaded, its start-up objects frozen out of the garbage collector's
  reach (`config.startup`), as `config.serve` does;
- glibc's allocator limited to two arenas and no per-thread cache (`config.startup`
  ALLOCATOR_ENVIRONMENT; the process restarts itself once with them, unless they are set).
"""

from __future__ import annotations

import argparse
import os
import signal

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from config import shutdown
from config.compat import uvicorn as compat_uvicorn
from config.logredact import uvicorn_log_config
from config.startup import restart_with_tuned_allocator

DEFAULT_APP = "config.asgi:application"
VERBOSITY = {0: "warning", 1: "info", 2: "debug"}


class LingeringCloseProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O `websockets` protocol, with a lingering close after a failure.

    On a message over the limit uvicorn writes the 1009 close frame and closes the socket at
    once. The client is usually still sending the oversize message; closing a socket with
    unread bytes makes the kernel answer with a reset, and a reset can destroy the close frame
    before the client reads it (seen here: `ConnectionResetError` instead of 1009). Here the
    socket is half-closed instead (the close frame, then FIN), and whatever the client still
    sends is read and dropped until it closes its side or `LINGER_SECONDS` pass.
    """

    LINGER_SECONDS = 5.0
    lingering = False

    def data_received(self, data: bytes) -> None:
        if not self.lingering:
            super().data_received(data)

    def handle_parser_exception(self) -> None:
        close = self.conn.close_sent
        self.queue.put_nowait(
            {"type": "websocket.disconnect", "code": close.code, "reason": close.reason}
        )
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(self.LINGER_SECONDS, self.transport.close)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m config.serve_uvicorn", description=__doc__)
    parser.add_argument("-b", "--bind", default="127.0.0.1", help="address to listen on")
    parser.add_argument("-p", "--port", type=int, default=8000, help="port (0: any free one)")
    parser.add_argument("--workers", type=int, default=1, help="processes on the one port")
    parser.add_argument("-v", "--verbosity", type=int, choices=sorted(VERBOSITY), default=1)
    parser.add_argument("--backlog", type=int, default=2048)
    parser.add_argument("application", nargs="?", default=DEFAULT_APP)
    return parser.parse_args(argv)


APPLICATION_VARIABLE = "SERVE_UVICORN_APPLICATION"


def load_application():
    """uvicorn's application factory, called in each worker process: the application the
    command line named (passed on in the environment, which the workers inherit), loaded
    and wrapped for a graceful restart (`config.shutdown.ShutdownAware`), then the start-up
    objects frozen out of the garbage collector's reach."""
    from uvicorn.importer import import_from_string

    from config.startup import freeze_start_up_objects

    application = shutdown.ShutdownAware(import_from_string(os.environ[APPLICATION_VARIABLE]))
    freeze_start_up_objects()
    return application


def uvicorn_options(args: argparse.Namespace) -> dict:
    """The keyword arguments of `uvicorn.run` for these command-line options."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ[APPLICATION_VARIABLE] = args.application
    from django.conf import settings

    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    if args.workers > 1 and layer.endswith("InMemoryChannelLayer"):
        # Each worker would have its own sockets' groups, counters and cache: a session's
        # players on two workers would not see each other's messages.
        raise SystemExit(
            "--workers above 1 needs REDIS_URL: without it the channel layer and the rate "
            "counters live in each process's memory"
        )
    return {
        "app": "config.serve_uvicorn:load_application",
        "factory": True,
        "host": args.bind,
        "port": args.port,
        "workers": args.workers,
        "backlog": args.backlog,
        "ws": LingeringCloseProtocol,
        "ws_max_size": settings.WEBSOCKET_MAX_MESSAGE_BYTES,
        "ws_per_message_deflate": False,
        "proxy_headers": False,
        "server_header": False,
        # Answered by config.shutdown.ShutdownAware, which hooks SIGTERM at startup.
        "lifespan": "on",
        "log_level": VERBOSITY[args.verbosity],
        "access_log": args.verbosity >= 1,
        # Tokens in query strings (a socket's, a signed media link's) are redacted.
        "log_config": uvicorn_log_config(),
        # The replies' grace (SHUTDOWN_GRACE_SECONDS), then time to store the stopped ones.
        "timeout_graceful_shutdown": shutdown.server_timeout(),
    }


def main(argv: list[str] | None = None) -> None:
    import sys

    if argv is None:  # run as a program: start with the allocator tuned for serving
        restart_with_tuned_allocator()
    options = uvicorn_options(parse(sys.argv[1:] if argv is None else argv))
    # SIGTERM ends the process with status 0: before the server runs, and when uvicorn,
    # having shut down, restores this handler and raises the signal again.
    signal.signal(signal.SIGTERM, shutdown.exit_cleanly)
    # uvicorn.run, but with several workers the supervisor stops listening on SIGTERM too.
    compat_uvicorn.run(**options)


if __name__ == "__main__":
    main()
