"""The benchmarks' scratch PostgreSQL database: created when DATABASE_URL names one that does
not exist yet (each benchmark migrates and seeds it itself)."""

from __future__ import annotations

import urllib.parse

PROJECT_DATABASES = ("aistory", "test_aistory")


def ensure_database(url: str) -> None:
    """Create the database `url` names when it is missing; nothing for a URL that is not
    PostgreSQL's. The project's own databases are refused: a benchmark seeds and clears."""
    if not url.startswith(("postgres://", "postgresql://")):
        return
    import psycopg
    from psycopg import sql

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    if name in PROJECT_DATABASES:
        raise SystemExit("use a scratch database for the benchmark, not the project's")
    admin_url = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if found.fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
