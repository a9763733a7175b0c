"""The served application (config.asgi): Django's ASGI handler serving settings.MIDDLEWARE, whose
classes (config/middleware.py) give the same answers as Django's own; and the test clients
(`client`, `auth_client`, tests/asgi_client.py) that send every request through it."""

from __future__ import annotations

import threading

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import Client, override_settings
from django.utils.module_loading import import_string

from config.asgi import application
from config.checks import stock_name
from config.middleware import is_api_request
from tests.asgi_client import AsgiHandler
from tests.factories import GameFactory

BASE = "http://127.0.0.1"
SECURITY_HEADERS = (
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
)


@pytest.fixture
async def http():
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


@pytest.fixture
def served_chain(monkeypatch) -> list[str]:
    """The dotted paths of the middleware that run for each request, in the order they run:
    every class named in settings.MIDDLEWARE records itself when the served chain calls it."""
    ran: list[str] = []
    for path in settings.MIDDLEWARE:
        cls = import_string(path)

        def recording(self, request, *, path=path, call=cls.__call__):
            ran.append(path)
            return call(self, request)

        monkeypatch.setattr(cls, "__call__", recording)
    return ran


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/health", "/api/v1/projects", "/admin/login/"])
def test_the_served_chain_is_settings_middleware(client, served_chain, path):
    assert client.get(path).status_code in (200, 401)
    assert served_chain == settings.MIDDLEWARE


def test_the_test_client_sends_requests_through_the_production_application(client):
    assert isinstance(client.handler, AsgiHandler)
    # The body limit is an ASGI middleware around Django's handler (config/body_limit.py):
    # only a request through config.asgi.application meets it.
    too_large = b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    refused = client.post("/api/characters", too_large, content_type="application/json")
    assert refused.status_code == 413
    assert refused.json()["error"]


@pytest.mark.django_db
def test_a_request_sees_the_tests_transaction(client):
    game = GameFactory(title="Seen through the application")
    answered = client.get(f"/api/games/{game.id}")
    assert answered.status_code == 200, answered.content
    assert answered.json()["title"] == "Seen through the application"


@pytest.mark.django_db
def test_an_exception_in_a_view_reaches_the_test(client, monkeypatch):
    """As with Django's test handler: Django's `got_request_exception` carries it back. (API
    views answer their own 500 envelope; /metrics is a plain Django view.)"""

    def broken():
        raise RuntimeError("broken scrape")

    monkeypatch.setattr("config.metrics.render", broken)
    with pytest.raises(RuntimeError, match="broken scrape"):
        client.get("/metrics")
    client.raise_request_exception = False
    assert client.get("/metrics").status_code == 500


def test_api_paths_skip_the_browser_middleware_but_docs_and_admin_do_not():
    class Request:
        def __init__(self, path):
            self.path = path

    assert is_api_request(Request("/api/characters/1"))
    assert is_api_request(Request("/api/chats"))
    assert is_api_request(Request("/api/v1/projects"))
    assert not is_api_request(Request("/api/docs/"))
    assert not is_api_request(Request("/api/schema/"))
    assert not is_api_request(Request("/admin/login/"))
    assert not is_api_request(Request("/static/admin/css/base.css"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/api/health", "/api/characters/999999", "/api/nowhere"])
async def test_an_api_answer_has_the_headers_of_djangos_own_middleware(http, path):
    served = await http.get(path)
    # Django's test client, with Django's own classes in place of the served ones.
    stock = [stock_name(name) for name in settings.MIDDLEWARE]
    with override_settings(MIDDLEWARE=stock):
        expected = await sync_to_async(Client().get)(path)
    assert served.status_code == expected.status_code
    assert served.content == expected.content
    for header in SECURITY_HEADERS:
        assert served.headers.get(header) == expected.headers.get(header), header
    assert "set-cookie" not in served.headers
    assert "Cookie" not in served.headers.get("Vary", "")


@pytest.mark.django_db(transaction=True)
async def test_the_admin_keeps_sessions_and_csrf(http):
    page = await http.get("/admin/login/")
    assert page.status_code == 200
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "csrftoken" in page.cookies
    token = page.cookies["csrftoken"]
    http.cookies.clear()
    refused = await http.post("/admin/login/", data={"username": "a@example.com", "password": "x"})
    assert refused.status_code == 403  # no CSRF token: refused as by Django's chain
    http.cookies.set("csrftoken", token)
    answered = await http.post(
        "/admin/login/",
        data={"username": "a@example.com", "password": "x", "csrfmiddlewaretoken": token},
    )
    assert answered.status_code == 200  # the form again, with its error


@pytest.mark.django_db(transaction=True)
async def test_the_assistant_cookie_identity_works_without_the_session_middleware(http):
    created = await http.post("/api/chats", json={"prompt": "Plan a walk"})
    assert created.status_code == 201, created.text
    assert "chat-session" in created.cookies
    listed = await http.get("/api/chats")
    assert listed.status_code == 200
    assert created.json()["id"] in listed.text


@pytest.mark.django_db(transaction=True)
async def test_an_api_request_leaves_the_event_loop_only_for_its_view(http, monkeypatch):
    """The middleware runs on the event loop: the request's own thread is used by the view
    alone, so the chain adds no hop per middleware hook."""
    loop_thread = threading.get_ident()
    seen: list[str] = []
    for path in settings.MIDDLEWARE:
        cls = import_string(path)

        def on_thread(self, request, *, path=path, call=cls.__call__):
            if threading.get_ident() != loop_thread:
                seen.append(path)
            return call(self, request)

        monkeypatch.setattr(cls, "__call__", on_thread)
    assert (await http.get("/api/characters/999999")).status_code == 404
    assert seen == []
