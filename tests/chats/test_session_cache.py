"""Family A's cookie identity through the session engine (config/sessions.py): read from the
cache without a query, and kept working from the database alone while the cache is down."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import caches

from tests.conftest import JsonClient
from tests.helpers import json_body

pytestmark = pytest.mark.django_db
COOKIE = settings.ASSISTANT_SESSION_COOKIE_NAME


class CacheDown(ConnectionError):
    """What the Redis client raises when Redis does not answer."""


@pytest.fixture
def cache_down(monkeypatch):
    """Every call to the session cache fails, as they do while Redis is down."""
    cache = caches[settings.SESSION_CACHE_ALIAS]

    def refuse(*args, **kwargs):
        raise CacheDown("the cache is down")

    for name in ("get", "set", "add", "delete", "has_key", "__contains__"):
        monkeypatch.setattr(type(cache), name, refuse)
    return cache


def test_with_the_cache_down_a_new_identity_is_made_and_kept_in_the_database(cache_down):
    client = JsonClient()
    chat = json_body(client.post("/api/chats", {"prompt": "Hello"}), 201)
    assert Session.objects.filter(session_key=client.cookies[COOKIE].value).exists()
    assert json_body(client.get(f"/api/chats/{chat['id']}"))["id"] == chat["id"]


def test_with_the_cache_down_a_known_identity_is_read_from_the_database(monkeypatch):
    client = JsonClient()
    chat = json_body(client.post("/api/chats", {"prompt": "Hello"}), 201)
    caches[settings.SESSION_CACHE_ALIAS].clear()  # a miss: read from the database, then cached
    cache = caches[settings.SESSION_CACHE_ALIAS]

    def refuse(*args, **kwargs):
        raise CacheDown("the cache is down")

    monkeypatch.setattr(type(cache), "get", refuse)
    monkeypatch.setattr(type(cache), "set", refuse)
    body = json_body(client.get(f"/api/chats/{chat['id']}"))
    assert body["id"] == chat["id"] and body["userId"] == chat["userId"]
