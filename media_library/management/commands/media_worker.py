"""`manage.py media_worker`: django-tasks-db's `db_worker` with stale-claim recovery."""

from __future__ import annotations

from django_tasks_db.management.commands import db_worker

from media_library import worker


class Command(db_worker.Command):
    help = (
        "Run the background task worker (django-tasks-db's db_worker), requeueing tasks "
        "whose worker died (TASKS_STALE_AFTER_SECONDS)."
    )

    def handle(self, *args, **options):
        # db_worker builds its Worker by name; run ours in its place.
        original = db_worker.Worker
        db_worker.Worker = worker.RecoveringWorker
        try:
            return super().handle(*args, **options)
        finally:
            db_worker.Worker = original
