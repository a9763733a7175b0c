"""`manage.py clear_anonymous_identities`: expired sessions and unreachable anonymous chats."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from chats.services import anonymous_identities_clear


class Command(BaseCommand):
    help = (
        "Delete expired sessions (family A's anonymous identities among them) and the "
        "anonymous chats older than ASSISTANT_SESSION_DAYS, which no cookie can reach. The "
        "task worker (manage.py media_worker) runs this at start and every "
        "HOUSEKEEPING_EVERY_SECONDS."
    )

    def handle(self, *args, **options):
        deleted = anonymous_identities_clear()
        self.stdout.write(f"Deleted {deleted} anonymous chat(s) whose identity has expired.")
