"""What a serving process does once the application is loaded, whichever server runs it."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Mapping

# glibc's allocator, as a serving process should start with it: two arenas instead of up to
# 8 per core, and no per-thread cache of freed chunks. Each request thread otherwise keeps its
# own cache and attaches to its own arena, whose freed memory stays mapped: a server's
# resident memory grew 6.2-6.9 % from its 1,000th to its 10,000th SSE stream with no object
# kept alive, and 2.1-2.5 % with these, no slower (bench/README.md, sse_relay.py's memory
# section). glibc reads them only when a process starts.
ALLOCATOR_ENVIRONMENT = {
    "MALLOC_ARENA_MAX": "2",
    "GLIBC_TUNABLES": "glibc.malloc.tcache_count=0",
}


def freeze_start_up_objects() -> None:
    """Collect what start-up left behind, then exempt every surviving object from later
    collections: Django, the URLconf, the models and the libraries live as long as the
    process, and a full collection walked them all every few seconds under load, for
    120-240 ms each (bench/fanout.py, issue 10)."""
    gc.collect()
    gc.freeze()


def allocator_environment(environ: Mapping[str, str], platform: str = sys.platform) -> dict | None:
    """The environment a serving process should restart with for ALLOCATOR_ENVIRONMENT, or
    None when there is nothing to change: not Linux, or every variable already set. A value
    the operator set is kept (an empty `GLIBC_TUNABLES` keeps glibc's own cache)."""
    if not platform.startswith("linux"):
        return None
    missing = {name: value for name, value in ALLOCATOR_ENVIRONMENT.items() if name not in environ}
    return {**environ, **missing} if missing else None


def restart_with_tuned_allocator() -> None:
    """Replace this process with itself, same command line and process id, with the
    allocator's variables added, when allocator_environment says so. Call before anything
    else starts (no thread, no socket)."""
    environment = allocator_environment(os.environ)
    if environment is not None:
        os.execve(sys.executable, sys.orig_argv, environment)
