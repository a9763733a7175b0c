"""Under CI a missing service fails the run instead of skipping tests (tests/conftest.py).

pytest runs in a process of its own on a small test module, with tests/conftest.py's CI hooks:
a test that skips for want of PostgreSQL, Redis or Node fails when `CI` is set (and skips when
it is not), another skip or an expected failure stays what it is, and a CI run that lacks
PostgreSQL or Redis stops before its first test. No service is reached: the service URLs only
have to be set (nothing listens on port 1).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import fail_service_skips_under_ci
from tests.live import BASE_DIR

SKIPPING = """
import pytest


@pytest.mark.skipif(True, reason="needs REDIS_URL (the replay log)")
def test_needs_redis():
    pass


@pytest.mark.skipif(True, reason="needs DATABASE_URL (PostgreSQL behind a proxy)")
def test_needs_postgres():
    pass


def test_needs_node():
    pytest.skip("AI SDK client tests: node is not installed")


@pytest.mark.skip(reason="not on this platform")
def test_skips_for_another_reason():
    pass


@pytest.mark.xfail(reason="Redis quirk", strict=True)
def test_expected_to_fail():
    assert False


def test_plain():
    pass
"""
CONFTEST = "from tests.conftest import pytest_make_collect_report, pytest_runtest_makereport, "
CONFTEST += "pytest_sessionstart  # noqa: F401\n"
LOOP_SCOPE = "asyncio_default_fixture_loop_scope = function\n"
SERVICES = {
    "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
    "REDIS_URL": "redis://127.0.0.1:1/0",
}


def run_pytest(tmp_path, **env: str) -> tuple[int, str]:
    """Run SKIPPING with the CI hooks, `env` in place of the test run's CI and service
    variables; returns the exit code and the output."""
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    ini = tmp_path / "pytest.ini"
    ini.write_text("[pytest]\nDJANGO_SETTINGS_MODULE = config.settings.test\n" + LOOP_SCOPE)
    environ = {k: v for k, v in os.environ.items() if k not in {"CI", *SERVICES}}
    environ.update(env)
    environ["PYTHONPATH"] = str(BASE_DIR)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c", str(ini)]
    command += ["--rootdir", str(tmp_path), str(tmp_path)]
    result = subprocess.run(
        command, cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=120
    )
    return result.returncode, result.stdout + result.stderr


def outcomes(output: str) -> dict[str, int]:
    """The counts of pytest's last summary line ("1 failed, 2 passed in 0.1s")."""
    summary = [line for line in output.splitlines() if re.search(r" in [\d.]+s", line)]
    assert summary, output
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", summary[-1])}


def test_under_ci_a_skip_for_a_missing_service_fails_and_other_outcomes_stay(tmp_path):
    code, output = run_pytest(tmp_path, CI="1", **SERVICES)
    assert code == pytest.ExitCode.TESTS_FAILED, output
    # The two skipif markers fail in set-up (errors), the skip in the body fails the test.
    assert outcomes(output) == {"failed": 1, "errors": 2, "skipped": 1, "xfailed": 1, "passed": 1}
    for failed in (
        "FAILED test_skipping.py::test_needs_node",
        "ERROR test_skipping.py::test_needs_redis",
        "ERROR test_skipping.py::test_needs_postgres",
    ):
        assert f"{failed} - Skipped: " in output, output
    assert "CI must run this test" in output


def test_without_ci_a_skip_for_a_missing_service_stays_a_skip(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    report = pytest.TestReport(
        nodeid="test_skipping.py::test_needs_redis",
        location=("test_skipping.py", 4, "test_needs_redis"),
        keywords={},
        outcome="skipped",
        longrepr=("test_skipping.py", 5, "Skipped: needs REDIS_URL (the replay log)"),
        when="setup",
    )
    fail_service_skips_under_ci(report)
    assert report.skipped and report.longrepr[2] == "Skipped: needs REDIS_URL (the replay log)"


@pytest.mark.parametrize(
    ("present", "missing"),
    [
        ({"DATABASE_URL": SERVICES["DATABASE_URL"]}, "Redis (REDIS_URL)"),
        ({"REDIS_URL": SERVICES["REDIS_URL"]}, "PostgreSQL (DATABASE_URL)"),
    ],
    ids=["only-postgresql", "only-redis"],
)
def test_a_ci_run_without_postgresql_or_redis_stops_before_its_first_test(
    tmp_path, present, missing
):
    code, output = run_pytest(tmp_path, CI="1", **present)
    assert code == pytest.ExitCode.USAGE_ERROR, output
    assert f"this run lacks {missing}" in output
    assert "passed" not in output
