"""What a serving process does once the application is loaded: the garbage collector's
settings for a long-lived server."""

from __future__ import annotations

import gc

# Python's default (10) runs a full collection after every 10 collections of the middle
# generation (once a quarter more objects have reached the oldest): with 1,500 sockets a
# process, that was a 110-150 ms full collection during the connection burst and again
# during the broadcasts after it. At 100, none in the same run (bench/fanout.py, bench/README.md,
# issue 19). The young generations keep Python's thresholds.
FULL_COLLECTION_THRESHOLD = 100


def freeze_start_up_objects() -> None:
    """Collect what start-up left behind, then exempt every surviving object from later
    collections: Django, the URLconf, the models and the libraries live as long as the
    process, and a full collection walked them all every few seconds under load, for
    120-240 ms each (bench/fanout.py, issue 10). Then full collections are made ten times
    rarer (`FULL_COLLECTION_THRESHOLD`): the sockets a process holds are long-lived too,
    and each full collection walks all of them."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_THRESHOLD)
