"""Fixtures of the AI provider tests: a local fake OpenAI-compatible server."""

from __future__ import annotations

import pytest

from ai.providers import reset_providers
from tests.fake_openai import FakeOpenAI, point_ai_tasks


@pytest.fixture
def fake_openai(settings):
    """A running fake server with every AI task pointed at it (the real SDK path, no retries,
    a 2 s timeout); cached provider clients are forgotten before and after."""
    reset_providers()
    server = FakeOpenAI().start()
    point_ai_tasks(settings, server.base_url)
    yield server
    server.stop()
    reset_providers()


@pytest.fixture(autouse=True)
def _fresh_providers():
    """Providers are cached per process; no test sees another's client or event loop."""
    reset_providers()
    yield
    reset_providers()
