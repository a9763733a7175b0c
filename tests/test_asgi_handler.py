"""The served application (config.asgi): Django's middleware as the hop-free equivalents of
config/middleware.py and request threads reused (config/handler.py), with the same answers
as Django's own chain, which the test client runs."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from config.asgi import django_asgi_app
from config.handler import ReusedThreadContext
from config.middleware import FAST_EQUIVALENTS, is_api_request

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "http://127.0.0.1"
SECURITY_HEADERS = (
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
)


@pytest.fixture
async def http():
    transport = httpx.ASGITransport(app=django_asgi_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


def test_every_django_middleware_of_the_settings_has_its_equivalent(settings):
    for path in settings.MIDDLEWARE:
        if path.startswith("django."):
            assert path in FAST_EQUIVALENTS, path
    chain = django_asgi_app._view_middleware
    assert [m.__self__.__class__.__name__ for m in chain] == ["BrowserOnlyCsrfViewMiddleware"]


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


@pytest.mark.parametrize("path", ["/api/health", "/api/characters/999999", "/api/nowhere"])
async def test_an_api_answer_has_the_headers_of_djangos_chain(http, path):
    served = await http.get(path)
    expected = await sync_to_async(Client().get)(path)
    assert served.status_code == expected.status_code
    assert served.content == expected.content
    for header in SECURITY_HEADERS:
        assert served.headers.get(header) == expected.headers.get(header), header
    assert "set-cookie" not in served.headers
    assert "Cookie" not in served.headers.get("Vary", "")


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


async def test_the_assistant_cookie_identity_works_without_the_session_middleware(http):
    created = await http.post("/api/chats", json={"prompt": "Plan a walk"})
    assert created.status_code == 201, created.text
    assert "chat-session" in created.cookies
    listed = await http.get("/api/chats")
    assert listed.status_code == 200
    assert created.json()["id"] in listed.text


@pytest.fixture
def thread_pool(monkeypatch) -> list:
    """An empty pool of idle request threads for this test alone: what earlier tests left
    there (or a full pool) cannot decide which thread a request gets."""
    pool: list = []
    monkeypatch.setattr(ReusedThreadContext, "_idle", pool)
    return pool


async def test_request_threads_are_reused_and_never_shared_by_concurrent_requests(thread_pool):
    async def thread_of_one_request():
        async with ReusedThreadContext():
            first = await sync_to_async(threading.get_ident)()
            await asyncio.sleep(0)  # another request's turn
            assert await sync_to_async(threading.get_ident)() == first
            return first

    one = await thread_of_one_request()
    assert len(thread_pool) == 1  # its work done, the thread went back to the pool at once
    assert await thread_of_one_request() == one
    concurrent = await asyncio.gather(*(thread_of_one_request() for _ in range(4)))
    assert len(set(concurrent)) == 4
    assert one in concurrent and len(thread_pool) == 4


async def test_a_thread_still_running_a_call_when_its_request_ends_is_not_reused(thread_pool):
    release = threading.Event()
    started = threading.Event()

    def left_running():
        started.set()
        release.wait(timeout=30)
        return threading.get_ident()

    try:
        async with ReusedThreadContext():
            # A client gone mid-call: the request ends, its sync call goes on.
            leftover = asyncio.ensure_future(sync_to_async(left_running)())
            await asyncio.to_thread(started.wait, 30)
        assert thread_pool == []
        async with ReusedThreadContext():
            other = await sync_to_async(threading.get_ident)()
    finally:
        release.set()
    assert await asyncio.wait_for(leftover, 30) != other
