"""Fixtures of the AI provider tests: a local fake OpenAI-compatible server."""

from __future__ import annotations

import pytest

from ai.providers import reset_providers


@pytest.fixture(autouse=True)
def _fresh_providers():
    """Providers are cached per process; no test sees another's client or event loop."""
    reset_providers()
    yield
    reset_providers()
