"""What a serving process does once the application is loaded: the garbage collector's
settings for a long-lived server."""

from __future__ import annotations

import gc

# Python's default (10) runs a full collection after every 10 collections of the middle
# generation (once a quarter more objects have reached the oldest), and each walks every
# object not frozen: the sockets a process holds are long-lived, so the more sockets, the
# longer. Measured with 5,000 sockets a process (bench/fanout.py, 10,000 sockets on two
# workers; bench/README.md, issue 19): at 10, 28 full collections of 0.14-0.74 s in a
# handshake burst and 20 broadcasts, the broadcast's p99 1.28 s; at 100, one of 0.53-0.61 s
# about every 20 broadcasts (p99 0.61-0.98 s); at 1,000, none in 60 broadcasts (p99 0.61 s).
# With 500 sockets none is long at any of them. The young generations keep Python's
# thresholds; full collections still come, a hundred times more rarely.
FULL_COLLECTION_THRESHOLD = 1000


def freeze_start_up_objects() -> None:
    """Collect what start-up left behind, then exempt every surviving object from later
    collections: Django, the URLconf, the models and the libraries live as long as the
    process, and a full collection walked them all every few seconds under load, for
    120-240 ms each (bench/fanout.py, issue 10). Then full collections are made a hundred
    times rarer (`FULL_COLLECTION_THRESHOLD`): the sockets a process holds are long-lived
    too, and each full collection walks all of them."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_THRESHOLD)
