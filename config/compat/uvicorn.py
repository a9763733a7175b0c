"""uvicorn with `--workers N`: the supervisor's listening socket closed when it shuts down.

`uvicorn.run(workers=N)` binds the socket in the supervisor process and hands it to the
workers. On SIGTERM each worker closes its copy and drains, but the supervisor keeps its own
copy open until the last worker has exited (up to `timeout_graceful_shutdown`): meanwhile the
kernel goes on completing new connections into the listen backlog, which nobody accepts any
more, so clients hang for the whole drain and are then reset, instead of being refused at
once and retrying elsewhere. Measured: tests/test_graceful_restart.py's workers test, where a
new connection after SIGTERM was accepted by the kernel and never answered until the
supervisor exited; with one process uvicorn refuses at once.

uvicorn has no hook for it. `run` does what `uvicorn.run`'s worker branch does, with the same
classes (`Config`, `Config.bind_socket`, `uvicorn.supervisors.Multiprocess`), plus one
thread that closes the supervisor's socket as soon as the supervisor has taken the signal
(`Multiprocess.should_exit`; from then on it starts no worker that would need the socket).
Checked for TESTED; on any other version `run` is `uvicorn.run`, unchanged.
"""

from __future__ import annotations

import threading

import uvicorn

TESTED = ("0.54.0",)
ACTIVE = uvicorn.__version__ in TESTED


def run(**options) -> None:
    """`uvicorn.run(**options)`, with the supervisor's socket closed on shutdown when it runs
    several workers (and the installed uvicorn is one this was checked for)."""
    if not ACTIVE or options.get("workers", 1) <= 1:
        uvicorn.run(**options)
        return
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(**options)
    sock = config.bind_socket()
    supervisor = Multiprocess(config, sockets=[sock])

    def close_when_exiting() -> None:
        supervisor.should_exit.wait()
        sock.close()

    threading.Thread(target=close_when_exiting, name="close-listener", daemon=True).start()
    supervisor.run()
