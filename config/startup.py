"""What a serving process does once the application is loaded."""

from __future__ import annotations

import gc


def freeze_start_up_objects() -> None:
    """Collect what start-up left behind, then exempt every surviving object from later
    collections: Django, the URLconf, the models and the libraries live as long as the
    process, and a full collection walked them all every few seconds under load, for
    120-240 ms each (bench/fanout.py, issue 10).

    Python's collection thresholds are kept. Raising the oldest generation's (issue 19)
    shortens nothing but the pauses of a process holding thousands of sockets, and lets the
    cyclic garbage of each request wait for the rarer full collections. Our own cycles are
    gone (a turn, a view, tests/test_sse_cycles.py), but the dependencies' remain (CPython
    3.13.0's TaskGroup under Django's handler, DRF's serializers): at (700, 10, 100) the SSE
    relay's memory grew 3.2 % from its 1,000th to its 10,000th stream but the 10,000-socket
    broadcast still met a full collection in its rounds (p99 1.19 s); at (2000, 10, 100)
    the memory grew 8.0 % (bench/README.md, "fanout.py")."""
    gc.collect()
    gc.freeze()
