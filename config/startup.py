"""What a serving process does once the application is loaded."""

from __future__ import annotations

import gc


def freeze_start_up_objects() -> None:
    """Collect what start-up left behind, then exempt every surviving object from later
    collections: Django, the URLconf, the models and the libraries live as long as the
    process, and a full collection walked them all every few seconds under load, for
    120-240 ms each (bench/fanout.py, issue 10).

    Python's collection thresholds are kept. Raising the oldest generation's (issue 19)
    shortens nothing but the pauses of a process holding thousands of sockets: at 100 or
    1,000, the SSE relay's resident memory grew 28 % and 91 % from its 1,000th to its
    10,000th stream, against 1.0 % at Python's 10 (each stream leaves cyclic garbage that
    only a full collection frees; bench/README.md, "fanout.py")."""
    gc.collect()
    gc.freeze()
