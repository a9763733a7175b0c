"""Settings come from the environment: embedded needs none, production needs a secret key.

Settings write nothing: the entry points (manage.py, config.asgi) prepare the embedded mode's
kept key first (`config.embedded.prepare`), and the probe below does what they do.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = (
    "from config.embedded import prepare; prepare(); "
    "import django, os; from django.conf import settings; django.setup(); "
    "print(settings.DATABASES['default']['ENGINE'], settings.CHANNEL_LAYERS['default']['BACKEND'],"
    " settings.CACHES['default']['BACKEND'], settings.AI_TASKS['dialogue']['offline'])"
)


def _run(tmp_path, probe=PROBE, **env) -> subprocess.CompletedProcess:
    return _python(["-c", probe], LOCAL_DIR=str(tmp_path), **env)


def _python(args: list[str], **env) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "AI_BASE_URL", "OPENAI_API_KEY"}
    }
    clean.update(DJANGO_SETTINGS_MODULE="config.settings.base", **env)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_embedded_default_needs_no_environment(tmp_path):
    result = _run(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "config.sqlite3",
        "channels.layers.InMemoryChannelLayer",
        "django.core.cache.backends.locmem.LocMemCache",
        "True",
    ]
    # The generated key is kept, so sessions and tokens survive a restart.
    key_file = tmp_path / "secret_key"
    key = key_file.read_text()
    assert len(key) >= 50
    assert _run(tmp_path).returncode == 0
    assert key_file.read_text() == key


def test_connections_are_kept_on_sqlite_and_pooled_on_postgresql(tmp_path):
    """SQLite: each reused thread keeps its connection (opening one costs about 1 ms);
    PostgreSQL: a sized pool, which Django allows only with CONN_MAX_AGE 0."""
    probe = (
        "from config.embedded import prepare; prepare(); "
        "import django; from django.conf import settings; django.setup(); "
        "d = settings.DATABASES['default']; "
        "print(d['CONN_MAX_AGE'], 'pool' in d.get('OPTIONS', {}))"
    )
    assert _run(tmp_path, probe).stdout.split() == ["None", "False"]
    # A kept SQLite connection keeps small caches (about forty are open under load).
    caches = (
        "from config.embedded import prepare; prepare(); "
        "import django; from django.db import connection; django.setup(); "
        "cursor = connection.cursor(); cursor.execute('PRAGMA cache_size'); "
        "print(cursor.fetchone()[0], connection.settings_dict['OPTIONS']['cached_statements'])"
    )
    kept = _run(tmp_path, caches)
    assert kept.stdout.split() == ["-512", "16"], kept.stderr
    pooled = _run(
        tmp_path,
        probe,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/unused",
        SECRET_KEY="x" * 50,
    )
    assert pooled.stdout.split() == ["0", "True"], pooled.stderr


def test_production_shape_refuses_to_start_without_a_secret_key(tmp_path):
    result = _run(tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:5432/unused")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_shape_uses_postgres_redis_and_the_configured_model(tmp_path):
    result = _run(
        tmp_path,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/unused",
        REDIS_URL="redis://127.0.0.1:6379/9",
        SECRET_KEY="x" * 50,
        AI_BASE_URL="http://127.0.0.1:11434/v1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "channels_redis.pubsub.RedisPubSubChannelLayer",  # one subscriber per process
        "config.compat.django.ProcessRedisCache",  # Django's, one client per process
        "False",
    ]


IMPORT_ONLY = (
    "import django; from django.conf import settings; django.setup(); "
    "print(len(settings.SECRET_KEY))"
)


def test_importing_settings_writes_nothing(tmp_path):
    local, static = tmp_path / "local", tmp_path / "static"
    result = _python(
        ["-c", IMPORT_ONLY], LOCAL_DIR=str(local), STATIC_ROOT=str(static), SECRET_KEY="k" * 50
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "50"
    assert not local.exists()
    assert not static.exists()


def test_embedded_settings_without_a_kept_key_refuse_clearly_and_write_nothing(tmp_path):
    """Outside the entry points nothing generates the key: settings say how to get one."""
    local = tmp_path / "local"
    result = _python(["-c", IMPORT_ONLY], LOCAL_DIR=str(local))
    assert result.returncode != 0
    assert "No SECRET_KEY" in result.stderr
    assert "python -m config.embedded" in result.stderr
    assert not local.exists()


def test_embedded_settings_read_the_kept_key(tmp_path):
    local = tmp_path / "local"
    prepared = _python(["-m", "config.embedded"], LOCAL_DIR=str(local))
    assert prepared.returncode == 0, prepared.stderr
    assert sorted(p.name for p in local.iterdir()) == ["secret_key"]
    result = _python(["-c", IMPORT_ONLY + "; print(settings.SECRET_KEY)"], LOCAL_DIR=str(local))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == (local / "secret_key").read_text()
    assert sorted(p.name for p in local.iterdir()) == ["secret_key"]


def test_manage_py_keeps_the_key_and_sqlite_makes_its_directory_on_connect(tmp_path):
    local, database = tmp_path / "state", tmp_path / "data" / "deeper" / "db.sqlite3"
    command = "from django.db import connection; connection.ensure_connection()"
    result = _python(
        ["manage.py", "shell", "-c", command], LOCAL_DIR=str(local), SQLITE_PATH=str(database)
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in local.iterdir()) == ["secret_key"]
    assert database.is_file()
