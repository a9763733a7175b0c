"""Django's SQLite backend, plus: the database file's directory is created when a connection
is made, so neither settings nor the entry points have to make it beforehand."""

from __future__ import annotations

from pathlib import Path

from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteDatabaseWrapper


class DatabaseWrapper(SQLiteDatabaseWrapper):
    def get_new_connection(self, conn_params):
        database = str(conn_params.get("database", ""))
        # Django always connects with uri=True; a plain path is still a file name then, while
        # "file:…" names (in-memory test databases) and ":memory:" have no directory to make.
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        return super().get_new_connection(conn_params)
