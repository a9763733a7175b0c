"""CORS for family A: an allowed Origin is echoed with credentials (never `*`, which browsers
refuse on credentialed requests); the other families are not opened. A cross-origin write
from an allowed origin passes (no Django CSRF refusal); a cookie identity used from an origin
that is not allowed is refused."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from chats.models import Chat, Message
from tests.conftest import JsonClient

pytestmark = pytest.mark.django_db

ORIGIN = "https://embed.example.org"
STRANGER = "https://stranger.example.net"
ONLY_ORIGIN = override_settings(CORS_ALLOW_ALL_ORIGINS=False, CORS_ALLOWED_ORIGINS=[ORIGIN])
# The embedded demo's default (ASSISTANT_CORS_ORIGINS=*); the production shape lists origins.
ANY_ORIGIN = override_settings(CORS_ALLOW_ALL_ORIGINS=True, CORS_ALLOWED_ORIGINS=[])
FORBIDDEN = {"statusCode": 403, "statusMessage": "Forbidden"}


def _preflight(client, path, origin=ORIGIN):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, authorization",
    )


def _assert_assistant_preflight(response, origin):
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == origin
    assert response["Access-Control-Allow-Credentials"] == "true"
    allowed = response["Access-Control-Allow-Methods"]
    assert {"GET", "POST", "PUT", "DELETE"} <= {m.strip() for m in allowed.split(",")}
    headers = {h.strip().lower() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "authorization"} <= headers
    assert "origin" in response["Vary"].lower()


ASSISTANT_PATHS = ["/api/health", "/api/ping", "/api/chats", "/api/chats/abc"]


@ANY_ORIGIN
@pytest.mark.parametrize("path", ASSISTANT_PATHS)
def test_assistant_family_echoes_any_origin_with_credentials_in_the_embedded_demo(client, path):
    _assert_assistant_preflight(_preflight(client, path), ORIGIN)


@ANY_ORIGIN
def test_simple_request_to_assistant_family_carries_the_origin(client):
    response = client.get("/api/health", HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert response["Access-Control-Allow-Credentials"] == "true"


@pytest.mark.parametrize("path", ["/api/messages", "/api/auth/login", "/api/v1/projects"])
def test_other_families_are_not_opened(client, path):
    response = _preflight(client, path)
    assert "Access-Control-Allow-Origin" not in response


@ONLY_ORIGIN
@pytest.mark.parametrize("path", ASSISTANT_PATHS)
def test_an_allow_list_echoes_only_its_origins(client, path):
    _assert_assistant_preflight(_preflight(client, path), ORIGIN)
    refused = _preflight(client, path, origin=STRANGER)
    assert "Access-Control-Allow-Origin" not in refused
    assert "Access-Control-Allow-Credentials" not in refused


@ONLY_ORIGIN
@pytest.mark.parametrize("path", ["/api/messages", "/api/auth/login", "/api/v1/projects"])
def test_an_allow_list_does_not_open_other_families(client, path):
    assert "Access-Control-Allow-Origin" not in _preflight(client, path)


# --- Cookie identity, CSRF and the origin ----------------------------------------------------


@pytest.fixture
def browser() -> JsonClient:
    """A browser-like client: Django's CSRF check is enforced, as for a real browser."""
    return JsonClient(enforce_csrf_checks=True)


def _create(client, origin=ORIGIN, **extra):
    return client.post("/api/chats", {"prompt": "Plan a walk"}, HTTP_ORIGIN=origin, **extra)


@pytest.mark.parametrize("allow_list", ["any", "only"])
def test_a_cross_origin_write_from_an_allowed_origin_passes_the_csrf_check(
    browser, settings, allow_list
):
    settings.CORS_ALLOW_ALL_ORIGINS = allow_list == "any"
    settings.CORS_ALLOWED_ORIGINS = [] if allow_list == "any" else [ORIGIN]
    created = _create(browser)
    assert created.status_code == 201, created.content
    assert created["Access-Control-Allow-Origin"] == ORIGIN
    chat_id = created.json()["id"]
    for response in (
        browser.post(
            f"/api/chats/{chat_id}/messages",
            {"id": "msg-2", "role": "assistant", "content": "Start at the bridge."},
            HTTP_ORIGIN=ORIGIN,
        ),
        browser.put(f"/api/chats/{chat_id}", {"content": "Walks"}, HTTP_ORIGIN=ORIGIN),
        browser.post(
            f"/api/chats/{chat_id}/state",
            {"state_update": {"情绪": "calm"}},
            HTTP_ORIGIN=ORIGIN,
        ),
        browser.delete(f"/api/chats/{chat_id}", HTTP_ORIGIN=ORIGIN),
    ):
        assert response.status_code == 200, response.content
        assert response["Access-Control-Allow-Origin"] == ORIGIN


@ONLY_ORIGIN
def test_a_cookie_identity_from_an_origin_not_allowed_is_refused(browser):
    chat_id = _create(browser).json()["id"]
    attempts = [
        ("GET", "/api/chats", ""),
        ("POST", "/api/chats", {"prompt": "From elsewhere"}),
        ("GET", f"/api/chats/{chat_id}", ""),
        ("PUT", f"/api/chats/{chat_id}", {"content": "Taken"}),
        ("DELETE", f"/api/chats/{chat_id}", ""),
        ("POST", f"/api/chats/{chat_id}/messages", {"role": "user", "content": "Injected"}),
        ("GET", f"/api/chats/{chat_id}/state", ""),
        ("POST", f"/api/chats/{chat_id}/state", {"state_update": {"情绪": "calm"}}),
    ]
    for method, path, body in attempts:
        response = browser.generic(method, path, body, HTTP_ORIGIN=STRANGER)
        assert response.status_code == 403, (method, path, response.content)
        assert response.json() == FORBIDDEN
        assert "Access-Control-Allow-Origin" not in response
    assert Chat.objects.get().title == "Plan a walk"
    assert Message.objects.count() == 1
    assert Chat.objects.get().state == {}


@ONLY_ORIGIN
def test_a_new_cookie_identity_is_not_made_for_an_origin_not_allowed(browser):
    response = _create(browser, origin=STRANGER)
    assert response.json() == FORBIDDEN
    assert not Chat.objects.exists()


@ONLY_ORIGIN
def test_the_apis_own_origin_and_no_origin_are_allowed(browser):
    chat_id = _create(browser, origin="http://testserver").json()["id"]
    assert browser.get(f"/api/chats/{chat_id}", HTTP_ORIGIN="http://testserver").status_code == 200
    assert browser.get(f"/api/chats/{chat_id}").status_code == 200
    secure = browser.get(f"/api/chats/{chat_id}", HTTP_ORIGIN="https://testserver", secure=True)
    assert secure.status_code == 200


@ONLY_ORIGIN
def test_a_bearer_token_is_honoured_from_any_origin(auth_client):
    response = _create(auth_client, origin=STRANGER)
    assert response.status_code == 201, response.content
    assert "Access-Control-Allow-Origin" not in response


def _settings_in_a_fresh_process(tmp_path, **environ) -> subprocess.CompletedProcess:
    """Load the settings the way a server starts, with only `environ` on top of a bare shell."""
    probe = (
        "import django; from django.conf import settings; django.setup(); "
        "print(settings.CORS_ALLOW_ALL_ORIGINS, ','.join(settings.CORS_ALLOWED_ORIGINS) or '-')"
    )
    drop = {"DATABASE_URL", "REDIS_URL", "HTTPS", "ASSISTANT_CORS_ORIGINS"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.test", LOCAL_DIR=str(tmp_path), **environ)
    return subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
    )


def test_the_allow_list_comes_from_the_environment(tmp_path):
    result = _settings_in_a_fresh_process(
        tmp_path, ASSISTANT_CORS_ORIGINS=f"{ORIGIN}, http://localhost:3000"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", f"{ORIGIN},http://localhost:3000"]


PRODUCTION = {
    "database": {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused"},
    "redis": {"REDIS_URL": "redis://127.0.0.1:6379/0"},
    "https": {"HTTPS": "1"},
}


def test_the_embedded_demo_allows_any_origin_by_default(tmp_path):
    result = _settings_in_a_fresh_process(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "-"]


@pytest.mark.parametrize("shape", PRODUCTION)
def test_the_production_shape_allows_no_origin_until_origins_are_listed(tmp_path, shape):
    result = _settings_in_a_fresh_process(tmp_path, **PRODUCTION[shape])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "-"]


@pytest.mark.parametrize("shape", PRODUCTION)
def test_any_origin_in_the_production_shape_is_refused_at_start_up(tmp_path, shape):
    result = _settings_in_a_fresh_process(tmp_path, ASSISTANT_CORS_ORIGINS="*", **PRODUCTION[shape])
    assert result.returncode != 0
    assert "ASSISTANT_CORS_ORIGINS=* in the production shape" in result.stderr
    assert "ASSISTANT_CORS_ALLOW_ANY_ORIGIN=1" in result.stderr


def test_any_origin_in_the_production_shape_needs_an_explicit_opt_in(tmp_path):
    result = _settings_in_a_fresh_process(
        tmp_path,
        ASSISTANT_CORS_ORIGINS="*",
        ASSISTANT_CORS_ALLOW_ANY_ORIGIN="1",
        **PRODUCTION["database"],
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "-"]
