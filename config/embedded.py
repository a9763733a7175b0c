"""Prepare the embedded mode's local state, before settings load.

Settings only read the environment and files; they write nothing. The entry points
(`manage.py`, `config/asgi.py`, or `python -m config.embedded`) call `prepare()` first, which
in the embedded mode keeps a generated secret key in `LOCAL_DIR/secret_key`, so sessions and
signed values survive a restart. With `SECRET_KEY` set, or in the production shape, it leaves
the disk alone. (The SQLite file's directory is made by the database backend,
`config/sqlite3`, when it first connects.)

Plain Python with no Django import: it runs before Django is configured.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY_FILENAME = "secret_key"


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def local_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the embedded mode keeps its database, key and media (`LOCAL_DIR`, else .local/)."""
    return Path(environ.get("LOCAL_DIR") or BASE_DIR / ".local")


def is_embedded(environ: Mapping[str, str] = os.environ) -> bool:
    """The embedded default: neither DATABASE_URL nor REDIS_URL is set."""
    return not environ.get("DATABASE_URL") and not environ.get("REDIS_URL")


def may_generate_secret_key(environ: Mapping[str, str] = os.environ) -> bool:
    """A generated key is fine in the embedded mode, or when a deployment asks for one."""
    return is_embedded(environ) or _true(environ.get("ALLOW_GENERATED_SECRET_KEY"))


def secret_key_path(environ: Mapping[str, str] = os.environ) -> Path:
    return local_dir(environ) / SECRET_KEY_FILENAME


def read_secret_key(environ: Mapping[str, str] = os.environ) -> str | None:
    """The kept key, or None when none has been written yet."""
    try:
        key = secret_key_path(environ).read_text().strip()
    except FileNotFoundError:
        return None
    return key or None


def ensure_secret_key(environ: Mapping[str, str] = os.environ) -> Path:
    """Write a new random key unless one is kept already; safe when processes race.

    The key is written to a temporary file and linked into place, so a reader never sees a
    half-written key and a second writer keeps the first one's.
    """
    path = secret_key_path(environ)
    if read_secret_key(environ):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    return path


def prepare(environ: Mapping[str, str] = os.environ) -> None:
    """Keep a generated secret key where the settings will read it, when one is needed."""
    if not environ.get("SECRET_KEY") and may_generate_secret_key(environ):
        ensure_secret_key(environ)


if __name__ == "__main__":
    prepare()
