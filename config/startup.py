"""What a serving process does once the application is loaded."""

from __future__ import annotations

import gc
import time


def freeze_start_up_objects() -> None:
    """Collect what start-up left behind, then exempt every surviving object from later
    collections: Django, the URLconf, the models and the libraries live as long as the
    process, and a full collection walked them all every few seconds under load, for
    120-240 ms each (bench/fanout.py, issue 10).

    Python's collection thresholds are kept (`freeze_after_full_collections` shortens the full
    collections instead). Raising the oldest generation's (issue 19)
    shortens nothing but the pauses of a process holding thousands of sockets, and lets the
    cyclic garbage of each request wait for the rarer full collections. Our own cycles are
    gone (a turn, a view, tests/test_sse_cycles.py), but the dependencies' remain (CPython
    3.13.0's TaskGroup under Django's handler, DRF's serializers): at (700, 10, 100) the SSE
    relay's memory grew 3.2 % from its 1,000th to its 10,000th stream but the 10,000-socket
    broadcast still met a full collection in its rounds (p99 1.19 s); at (2000, 10, 100)
    the memory grew 8.0 % (bench/README.md, "fanout.py")."""
    gc.collect()
    gc.freeze()


class FreezeAfterFullCollections:
    """A `gc.callbacks` entry: after a full collection that took `slow` seconds or more,
    freeze what survived it.

    What a process holds for long (sockets, pools, idle threads) then stays out of the next
    full collection, which walks only what came since. A process holding 5,000 sockets
    walked all their objects at every full collection, 0.5-0.8 s each and about once a
    broadcast round (bench/README.md, "Frozen between whole collections"). How often a full
    collection comes stays Python's, and a process whose full collections are quick (an
    SSE relay's) is left as it is.

    A frozen object is still freed by reference counting when its last reference goes; only
    a reference cycle that dies while frozen waits. So once objects have been frozen here for
    `whole_every` seconds, they are handed back (`gc.unfreeze()`) after a full collection,
    and the next one walks everything, start-up's objects too, and frees those cycles. A
    process that never had a slow full collection never unfreezes: start-up's freeze holds."""

    def __init__(self, whole_every: float, slow: float = 0.05, clock=time.monotonic) -> None:
        self.whole_every = whole_every
        self.slow = slow
        self.clock = clock
        self.started = 0.0
        self.frozen_at: float | None = None  # the first freeze since the last whole walk

    def __call__(self, phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        now = self.clock()
        if phase == "start":
            self.started = now
        elif self.frozen_at is not None and now - self.frozen_at >= self.whole_every:
            gc.unfreeze()  # the next full collection walks everything
            self.frozen_at = None
        elif now - self.started >= self.slow:
            gc.freeze()
            if self.frozen_at is None:
                self.frozen_at = now


def freeze_after_full_collections(whole_every: float) -> FreezeAfterFullCollections | None:
    """Install `FreezeAfterFullCollections` in this process (once); `whole_every` <= 0
    leaves Python's collector as it is."""
    if whole_every <= 0:
        return None
    for callback in gc.callbacks:
        if isinstance(callback, FreezeAfterFullCollections):
            return callback
    policy = FreezeAfterFullCollections(whole_every)
    gc.callbacks.append(policy)
    return policy
