"""Shared fixtures: HTTP clients, users and tokens."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from accounts.services import tokens_for_user
from ai.providers import reset_providers
from tests.factories import UserFactory
from tests.fake_openai import FakeOpenAI, point_ai_tasks


class JsonClient(APIClient):
    """APIClient that sends JSON bodies by default."""

    def generic(self, method, path, data="", content_type=None, **extra):
        if content_type is None and data not in ("", None) and not isinstance(data, str | bytes):
            data = json.dumps(data)
            content_type = "application/json"
        return super().generic(method, path, data, content_type or "application/json", **extra)

    def post(self, path, data=None, **extra):
        return self.generic("POST", path, data if data is not None else "", **extra)

    def patch(self, path, data=None, **extra):
        return self.generic("PATCH", path, data if data is not None else "", **extra)

    def put(self, path, data=None, **extra):
        return self.generic("PUT", path, data if data is not None else "", **extra)


@pytest.fixture
def client() -> JsonClient:
    return JsonClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def token(user) -> str:
    return tokens_for_user(user=user).access


@pytest.fixture
def auth_client(token) -> JsonClient:
    c = JsonClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return c


@pytest.fixture
def other_auth_client(other_user) -> JsonClient:
    c = JsonClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(user=other_user).access}")
    return c


@pytest.fixture(autouse=True)
def _clear_cache():
    """Throttle counters live in the cache; start each test from zero."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def fake_openai(settings):
    """A running fake OpenAI-compatible server with every AI task pointed at it (the real SDK
    path, no retries, a 2 s timeout); cached provider clients are forgotten before and after."""
    reset_providers()
    server = FakeOpenAI().start()
    point_ai_tasks(settings, server.base_url)
    yield server
    server.stop()
    reset_providers()
