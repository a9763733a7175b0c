"""The production switch HTTPS=1: a deployment check that passes, and pages that still work
under its Content Security Policy (no inline script anywhere, every script from this server)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "HTTPS": "1",
    "ALLOWED_HOSTS": "api.example.com",
    # Settings only: nothing connects to these during the check.
    "DATABASE_URL": "postgres://app@127.0.0.1:1/app",
    "REDIS_URL": "redis://127.0.0.1:1/0",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY"}
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_production_shape_passes_the_deployment_check():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=secrets.token_urlsafe(50),
        **PRODUCTION_ENV,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_without_the_switch_the_deployment_check_fails():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=secrets.token_urlsafe(50),
        **{**PRODUCTION_ENV, "HTTPS": "0"},
    )
    assert result.returncode != 0
    assert "SECURE_SSL_REDIRECT" in result.stdout + result.stderr


@pytest.fixture
def https_settings(settings):
    """What HTTPS=1 sets, applied to the running test settings."""
    from config.settings import base

    settings.SECURE_CSP = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
    }
    assert "config.middleware.ContentSecurityPolicyMiddleware" in base.MIDDLEWARE
    return settings


def _scripts(html: str) -> list[str]:
    return re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)


def _assert_no_inline_script(html: str) -> list[str]:
    sources = []
    for attributes, body in _scripts(html):
        match = re.search(r'src="([^"]+)"', attributes)
        assert match, f"inline script under CSP: {body[:80]!r}"
        assert not body.strip()
        sources.append(match.group(1))
    assert not re.search(r"\son[a-z]+=", html), "inline event handler under CSP"
    return sources


def test_swagger_ui_loads_only_scripts_of_this_server_under_the_policy(client, https_settings):
    page = client.get("/api/docs/", secure=True)
    assert page.status_code == 200
    policy = page["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("style-src")[0]
    sources = _assert_no_inline_script(page.content.decode())
    assert sources and all(src.startswith("/") for src in sources), sources
    for src in sources:
        script = client.get(src, secure=True)
        assert script.status_code == 200, src
        body = b"".join(script.streaming_content) if script.streaming else script.content
        assert body.strip(), src
    init = client.get("/api/docs/?script=", secure=True)
    assert init["Content-Type"].startswith("application/javascript")
    assert b"/api/schema/" in init.content


@pytest.mark.django_db
def test_the_admin_uses_no_inline_script_under_the_policy(client, https_settings):
    login = client.get("/admin/login/", secure=True)
    assert login.status_code == 200
    assert "Content-Security-Policy" in login
    _assert_no_inline_script(login.content.decode())
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    for path in ("/admin/", "/admin/games/game/", "/admin/chats/chat/add/"):
        page = client.get(path, secure=True)
        assert page.status_code == 200, path
        _assert_no_inline_script(page.content.decode())
