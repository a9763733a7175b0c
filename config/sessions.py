"""The session engine (`SESSION_ENGINE`): Django's `cached_db`, whose cache may be down.

Sessions (family A's anonymous identities, the admin's logins) are kept in the database and
read through the cache: a family-A request reads its cookie identity with one cache read
(Redis in production) instead of a pooled database connection, its check and a query before
its view (bench/README.md, "Cheaper starts, third round"). A session missing from the cache is
read from the database, so a cleared or restarted cache loses nothing.

Django's `cached_db` already treats a failed cache read as a miss and a failed cache write
after a save as a logged warning. Two calls still fail the request when the cache is down:
the write that follows a database read on a miss (`load`), and the look for a taken key when
a new session is made (`exists`). Here both fall back to the database alone, as a Redis
outage must not sign anyone out or stop a new chat (tests/test_outages.py).
"""

from __future__ import annotations

import logging

from django.contrib.sessions.backends import cached_db, db
from django.db import DatabaseError

logger = logging.getLogger("django.contrib.sessions")


class SessionStore(cached_db.SessionStore):
    def load(self):
        try:
            return super().load()
        except DatabaseError:
            raise
        except Exception:  # the cache is down: its write after the database read failed
            logger.warning("Session cache unavailable; reading the session from the database")
            return db.SessionStore.load(self)

    def exists(self, session_key):
        try:
            return super().exists(session_key)
        except DatabaseError:
            raise
        except Exception:  # the cache is down
            return db.SessionStore.exists(self, session_key)
