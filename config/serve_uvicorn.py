"""`python -m config.serve_uvicorn [-b HOST] [-p PORT] [--workers N] [-v 0|1|2] [APP]`:
the production server entry point, uvicorn with this project's settings (see the README's
"Serving"). It only chooses uvicorn's public options; nothing of uvicorn is subclassed.

The options are spelled short (`-b`, `-p`, `-v`, the application path last, default
`config.asgi:application`), as `make run`, the live tests and the benchmarks start it, and
it sets what the project needs:
- WebSocket messages up to `WEBSOCKET_MAX_MESSAGE_BYTES` (2 MiB), with the `websockets`
  sans-I/O protocol (`--ws websockets-sansio`), which refuses a larger message with close
  code 1009 (message too big) and a reason naming the limit ("frame exceeds limit of 2097152
  bytes"; tests/realtime/test_live_frame_limit.py);
- no permessage-deflate: it costs CPU on every frame;
- no proxy-header rewriting: uvicorn would otherwise take the client address from
  `X-Forwarded-For` when the peer is 127.0.0.1, and the rate limits key on that address.
  The project reads forwarded addresses itself, only as far as `TRUSTED_PROXY_COUNT` allows;
- no `Server` header;
- a graceful restart (`config.shutdown`): the application is wrapped to answer the lifespan
  protocol, which Django does not speak, and to mark the process as shutting down on
  SIGTERM; replies in flight get `SHUTDOWN_GRACE_SECONDS` to finish, then are stored as
  stopped; uvicorn waits for them that long plus a margin, closes sockets with 1012, and the
  process exits 0;
- `--workers N`: N processes accepting on one port (uvicorn's supervisor shares the socket,
  closed at once on SIGTERM: `config.compat.uvicorn`);
- a listen backlog of 2048, so a burst of connects is not refused;
- its limit of open files raised to the hard limit the system allows (`resource`), before
  uvicorn starts (its workers inherit it): every socket is a file, and the usual soft limit
  of 1024 would refuse connections long before memory runs out (bench/fanout.py holds
  10,000 sockets on two workers);
- once the application is loaded, its start-up objects frozen out of the garbage collector's
  reach (`config.startup`).

glibc's allocator settings for a serving process (`MALLOC_ARENA_MAX`, `GLIBC_TUNABLES`) are
read only when a process starts, so they belong to its environment: `make run` sets them,
and the README's production section shows them.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal

from config import shutdown
from config.compat import uvicorn as compat_uvicorn
from config.logredact import uvicorn_log_config

DEFAULT_APP = "config.asgi:application"
VERBOSITY = {0: "warning", 1: "info", 2: "debug"}
# uvicorn's own sans-I/O `websockets` protocol (its `auto` choice when websockets is
# installed), named so that a missing package fails at start instead of changing protocol.
WEBSOCKET_PROTOCOL = "websockets-sansio"


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line's options."""
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
    objects frozen out of the garbage collector's reach, and what survives a later slow full
    collection too (`config.startup`)."""
    from django.conf import settings
    from uvicorn.importer import import_from_string

    from config.startup import freeze_after_full_collections, freeze_start_up_objects

    application = shutdown.ShutdownAware(import_from_string(os.environ[APPLICATION_VARIABLE]))
    freeze_start_up_objects()
    freeze_after_full_collections(settings.GC_WHOLE_COLLECTION_SECONDS)
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
        "ws": WEBSOCKET_PROTOCOL,
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


def raise_open_file_limit() -> int:
    """Raise this process's soft limit of open files to its hard limit (an unprivileged
    process may); returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            return soft  # a platform that refuses the hard limit keeps what it had
        soft = hard
    return soft


def main(argv: list[str] | None = None) -> None:
    import sys

    options = uvicorn_options(parse(sys.argv[1:] if argv is None else argv))
    raise_open_file_limit()
    # SIGTERM ends the process with status 0: before the server runs, and when uvicorn,
    # having shut down, restores this handler and raises the signal again.
    signal.signal(signal.SIGTERM, shutdown.exit_cleanly)
    # uvicorn.run, but with several workers the supervisor stops listening on SIGTERM too.
    compat_uvicorn.run(**options)


if __name__ == "__main__":
    main()
