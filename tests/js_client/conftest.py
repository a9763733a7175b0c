"""The live server and the Node client shared by the tests that need a real socket."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import httpx
import pytest

from tests.live import BASE_DIR, asgi_live_server  # noqa: F401 (a fixture)

JS_DIR = BASE_DIR / "tests" / "js"
NODE_MIN_MAJOR = 18  # the `ai` package's engines field


def _node_problem() -> str | None:
    node = shutil.which("node")
    if node is None:
        return "node is not installed"
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    found = re.match(r"v(\d+)\.", version)
    if not found or int(found.group(1)) < NODE_MIN_MAJOR:
        return f"node {version or '?'} is too old (the `ai` package needs {NODE_MIN_MAJOR}+)"
    if not (JS_DIR / "node_modules" / "ai" / "package.json").is_file():
        return "tests/js/node_modules is missing: `make test` installs it (npm ci in tests/js)"
    return None


@pytest.fixture(scope="session")
def node() -> str:
    """The `node` executable, with tests/js's packages installed.

    Without them the test is skipped on a developer's machine, and fails under CI (the `CI`
    variable set, as CI services do), where the AI SDK check must run.
    """
    problem = _node_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"{problem}; CI must run the AI SDK client tests", pytrace=False)
        pytest.skip(f"AI SDK client tests: {problem}")
    return shutil.which("node")


@pytest.fixture
def live_http(asgi_live_server):  # noqa: F811 (the fixture imported above)
    """An httpx client of the live server; it keeps cookies, like a browser."""
    with httpx.Client(base_url=asgi_live_server.url, timeout=30) as client:
        yield client
