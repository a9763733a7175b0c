"""The layout holds: the import layers of ARCHITECTURE.md, and modules under 400 lines.

The layers are import-linter contracts in pyproject.toml (`[tool.importlinter]`), which
`make lint` checks too; running them here makes `make test` check them as well. Domain modules
never import `config.api` (rule 3), no app imports config's entry points, `ai` and `core`
import no app, domain code reaches realtime only through `realtime.events`, families G and M
know nothing of each other, and there are no cycles between packages.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_PACKAGES = (
    "accounts",
    "ai",
    "characters",
    "chats",
    "config",
    "core",
    "games",
    "media_library",
    "projects",
    "realtime",
)
# import-linter's `lint-imports` script, run by this interpreter wherever its venv keeps scripts.
LINT_IMPORTS = (
    "import sys\n"
    "from importlinter.cli import lint_imports_command\n"
    "sys.exit(lint_imports_command())\n"
)
# A module that passes this many lines becomes a package (ARCHITECTURE.md, house style).
MAX_MODULE_LINES = 400


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def test_the_import_contracts_hold():
    result = subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS, "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_contracts_cover_every_package_and_rule():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert sorted(config["root_packages"]) == sorted(APP_PACKAGES)
    contracts = _contracts()
    assert {
        "packages",
        "app-tiers",
        "domain-no-http",
        "config-on-top",
        "compat-alone",
        "api-base",
        "realtime-events",
        "ai-alone",
        "core-alone",
        "families-apart",
        "families-apart-m",
        "sockets-apart",
    } <= set(contracts)
    # Every module of a domain app is placed in a tier: a new one fails until it is.
    assert contracts["app-tiers"]["exhaustive"] is True
    assert contracts["domain-no-http"]["forbidden_modules"] == ["config.api"]


def test_the_package_layers_name_every_package():
    layered = set()
    for layer in _contracts()["packages"]["layers"]:
        for module in layer.replace("|", ":").split(":"):
            layered.add(module.strip().strip("()").split(".")[0])
    assert layered == set(APP_PACKAGES)


def test_app_modules_stay_under_the_size_limit():
    too_long = {}
    for package in APP_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            lines = len(path.read_text().splitlines())
            if lines > MAX_MODULE_LINES:
                too_long[path.relative_to(ROOT).as_posix()] = lines
    assert too_long == {}, f"modules over {MAX_MODULE_LINES} lines (split them): {too_long}"
