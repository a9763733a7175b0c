"""`manage.py media_worker`: django-tasks-db's `db_worker` with stale-claim recovery.

The stock command runs unchanged (its options, its worker, its graceful SIGTERM: the task in
hand is finished); the recovery and housekeeping run beside it for as long as it runs.
"""

from __future__ import annotations

import os

from django_tasks_db.management.commands import db_worker

from media_library import worker


class Command(db_worker.Command):
    help = (
        "Run the background task worker (django-tasks-db's db_worker), requeueing tasks "
        "whose worker died (TASKS_STALE_AFTER_SECONDS)."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--own-process-group",
            action="store_true",
            help=(
                "Leave the terminal's process group, so Ctrl-C does not reach the worker and "
                "whoever started it stops it with one SIGTERM (make run does): the task in hand "
                "is finished, never cut by a second signal."
            ),
        )

    def handle(self, *args, own_process_group: bool = False, **options):
        if own_process_group:
            os.setpgid(0, 0)
        with worker.recovering(backend_name=options["backend_name"]):
            return super().handle(*args, **options)
