"""The task worker: django-tasks-db's stock worker, plus recovery of tasks whose worker died.

django-tasks-db marks a task RUNNING when a worker claims it and only a live worker ever
moves it on, so a worker killed mid-task (SIGKILL, a crash, a lost machine) leaves the task
RUNNING for ever. This worker puts such a task back in the queue: a RUNNING task claimed more
than TASKS_STALE_AFTER_SECONDS ago is READY again, to be run by any worker. Our tasks are
written to be run twice safely (the media analysis writes only while the media still waits),
so a slow task that is only presumed dead costs a repeat, never a wrong result.

The recovery runs beside the stock `db_worker` command (`recovering`), not inside a subclass
of its worker, so django-tasks-db's own loop, signals and options serve the tasks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.tasks.base import TaskResultStatus
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from core import metrics

logger = logging.getLogger("media_library.worker")
# The tasks this process finishes, by task and status, for /metrics (core/metrics.py).
metrics.watch_tasks()

RECOVER_EVERY_SECONDS = 30


def requeue_stale_tasks(*, older_than: float | None = None, backend_name: str = "default") -> int:
    """Put RUNNING tasks claimed more than `older_than` seconds ago back in the queue."""
    seconds = settings.TASKS_STALE_AFTER_SECONDS if older_than is None else older_than
    cutoff = timezone.now() - timedelta(seconds=seconds)
    with transaction.atomic():
        count = DBTaskResult.objects.filter(
            backend_name=backend_name,
            status=TaskResultStatus.RUNNING,
            started_at__lt=cutoff,
        ).update(status=TaskResultStatus.READY)
    if count:
        logger.warning("Requeued %d task(s) whose worker stopped answering", count)
    return count


def housekeeping() -> None:
    """Periodic clean-up the worker runs beside its tasks: the jobs HOUSEKEEPING_JOBS names.

    Settings name the jobs by dotted path, as MIDDLEWARE names classes, so the worker imports
    no other app (today's one job: chats' clearing of expired anonymous identities).
    """
    for path in settings.HOUSEKEEPING_JOBS:
        deleted = import_string(path)()
        if deleted:
            logger.info("Housekeeping: %s deleted %d row(s)", path, deleted)


@contextmanager
def recovering(*, backend_name: str = "default") -> Iterator[None]:
    """Requeue stale claims and run `housekeeping` now, then, while the block runs (the
    worker's loop, which has no idle hook), requeue every RECOVER_EVERY_SECONDS and run
    `housekeeping` every HOUSEKEEPING_EVERY_SECONDS from a thread beside it."""
    _recover(backend_name)
    _housekeeping()
    stop = threading.Event()
    thread = threading.Thread(
        target=_recover_until, args=(stop, backend_name), name="task-recovery", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()


def _recover_until(stop: threading.Event, backend_name: str) -> None:
    last_housekeeping = time.monotonic()
    while not stop.wait(RECOVER_EVERY_SECONDS):
        _recover(backend_name)
        if time.monotonic() - last_housekeeping >= settings.HOUSEKEEPING_EVERY_SECONDS:
            last_housekeeping = time.monotonic()
            _housekeeping()
        # This thread's own connection: closed after each round, never left idle.
        connection.close()


def _housekeeping() -> None:
    try:
        housekeeping()
    except Exception:
        logger.exception("Housekeeping failed")


def _recover(backend_name: str) -> None:
    try:
        requeue_stale_tasks(backend_name=backend_name)
    except Exception:
        logger.exception("Requeueing stale tasks failed")


def run_pending_tasks(*, backend_name: str = "default", worker_id: str = "inline") -> int:
    """Claim and run every ready task in this thread, as the worker does; the number run.

    For tests and one-off maintenance: it uses the worker's own claim and run code but not
    its loop, whose connection housekeeping would end a test's transaction.
    """
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name=backend_name,
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )
    ran = 0
    while True:
        with transaction.atomic():
            result = DBTaskResult.objects.ready().filter(backend_name=backend_name).get_locked()
            if result is not None:
                result.claim(worker_id)
        if result is None:
            return ran
        worker.run_task(result)
        ran += 1
