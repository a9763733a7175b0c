"""Units of database work that arrive on one event loop together run together: one thread
hop and one transaction for the lot, each unit in a savepoint of its own.

Fifty stream starts at once each took their own hop to a thread and their own transaction.
On SQLite every transaction after the first waits for the database's one write lock, and
SQLite's busy handler waits by sleeping (1, 2, 5, 10, 15, 20, 25… ms) rather than by being
woken, so the fiftieth start waited hundreds of milliseconds for locks freed long before. On
PostgreSQL each start was five round trips and a commit of its own.

`run(unit)` queues a sync function and awaits its result. A batch takes whatever is queued when
it begins (up to BATCH_MAX); what arrives while it runs goes in the next one. Inside the batch:

- each unit runs in `transaction.atomic()` nested in the batch's, a savepoint: a unit that
  raises is rolled back alone and its caller gets its exception; the others go on (a unit
  alone in its batch has the transaction to itself, and no savepoint);
- the batch commits once; only then does any caller get its result, so what a unit wrote is
  durable before its caller goes on (a chat's user line before its model call);
- each unit runs in the context its caller had (log fields, the turn), not the batch's.

Units must be short and must not wait on anything outside the database: every unit of the
batch waits for the slowest. Row locks a unit takes are held until the batch commits.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction

from core import metrics, threads

BATCH_MAX = 64

_batchers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _Batcher:
    def __init__(self) -> None:
        self.queued: list[tuple[Callable[[], Any], asyncio.Future, contextvars.Context]] = []
        self.draining: asyncio.Task | None = None

    def submit(self, unit: Callable[[], Any]) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.queued.append((unit, future, contextvars.copy_context()))
        if self.draining is None:
            # With reused threads, the batches run in a context of their own (and on a thread
            # of their own), so that no caller's request or turn is asked to outlive them.
            # Without (the in-process test client), in the caller's, whose thread holds the
            # test's transaction.
            own = contextvars.Context() if settings.ASGI_REUSE_THREADS else None
            self.draining = loop.create_task(self._drain(), context=own)
        return future

    async def _drain(self) -> None:
        batch: list = []
        try:
            async with threads.reused_thread():
                while self.queued:
                    batch, self.queued = self.queued[:BATCH_MAX], self.queued[BATCH_MAX:]
                    try:
                        outcomes = await database_sync_to_async(_run_batch)(batch)
                    except Exception as exc:  # the commit failed: every unit with it
                        outcomes = [(False, exc)] * len(batch)
                    for (_, future, _), (ok, value) in zip(batch, outcomes, strict=True):
                        if future.done():  # its caller was cancelled
                            continue
                        if ok:
                            future.set_result(value)
                        else:
                            future.set_exception(value)
                    # Emptied, not dropped: the worker thread's ended frames still hold both
                    # lists, and a unit's exception holds those frames (its traceback's first
                    # frame keeps its callers, `f_back`): the exception, its caller's context
                    # and its turn would make a cycle only a full collection frees.
                    outcomes.clear()
                    batch.clear()
        except BaseException:
            # Cancelled (the loop is closing): no caller may wait for ever.
            for _, future, _ in [*batch, *self.queued]:
                future.cancel()
            self.queued = []
            raise
        finally:
            self.draining = None


def _run_batch(batch) -> list[tuple[bool, Any]]:
    metrics.DB_BATCH_UNITS.observe(len(batch))
    if len(batch) == 1:
        # Alone, the unit's transaction is the batch's: no savepoint (two round trips fewer
        # on PostgreSQL, a lone stream start's common case). A failure rolls back the lot,
        # which is the unit, and a failed commit is the unit's failure as it is every unit's.
        unit, _, context = batch[0]
        try:
            with transaction.atomic():
                return [(True, context.run(unit))]
        except Exception as exc:
            return [(False, exc)]
    outcomes: list[tuple[bool, Any]] = []
    with transaction.atomic():
        for unit, _, context in batch:
            try:
                with transaction.atomic():
                    outcomes.append((True, context.run(unit)))
            except Exception as exc:
                outcomes.append((False, exc))
    return outcomes


async def run(unit: Callable[[], Any]) -> Any:
    """Run `unit` (a sync function of database work) in the next batch; its result or its
    exception."""
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(loop)
    if batcher is None:
        batcher = _batchers[loop] = _Batcher()
    return await batcher.submit(unit)
