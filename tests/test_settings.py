"""Settings come from the environment: embedded needs none, production needs a secret key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = (
    "import django, os; from django.conf import settings; django.setup(); "
    "print(settings.DATABASES['default']['ENGINE'], settings.CHANNEL_LAYERS['default']['BACKEND'],"
    " settings.CACHES['default']['BACKEND'], settings.AI_TASKS['dialogue']['offline'])"
)


def _run(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "AI_BASE_URL", "OPENAI_API_KEY"}
    }
    clean.update(DJANGO_SETTINGS_MODULE="config.settings.base", LOCAL_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_embedded_default_needs_no_environment(tmp_path):
    result = _run(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "channels.layers.InMemoryChannelLayer",
        "django.core.cache.backends.locmem.LocMemCache",
        "True",
    ]
    # The generated key is kept, so sessions and tokens survive a restart.
    key_file = tmp_path / "secret_key"
    assert len(key_file.read_text()) >= 50
    assert _run(tmp_path).returncode == 0
    assert len(key_file.read_text()) >= 50


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
        "channels_redis.core.RedisChannelLayer",
        "django.core.cache.backends.redis.RedisCache",
        "False",
    ]
