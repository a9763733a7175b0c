"""Domain modules know nothing of HTTP: they never import `config.api` (ARCHITECTURE.md rule 3).

Domain errors and time formats live in `core`; `config/api/` maps codes to statuses and renders
the envelopes. The check reads the sources with `ast`, so it needs no import of the modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DOMAIN_APPS = ("accounts", "ai", "games", "characters", "chats", "projects", "media_library")
# Module (or package) names that hold domain code, as opposed to views, serializers and admin.
DOMAIN_MODULES = {
    "models",
    "services",
    "selectors",
    "errors",
    "health",
    "turns",
    "ai_services",
    "ownership",
    "engine",
}


def _domain_modules() -> list[Path]:
    found = []
    for app in DOMAIN_APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            parts = path.relative_to(ROOT / app).parts
            if "migrations" in parts:
                continue
            names = {Path(part).stem for part in parts}
            if names & DOMAIN_MODULES:
                found.append(path)
    return found


def _imports_config_api(tree: ast.AST) -> list[str]:
    """Every import in `tree` that reaches config.api, as written."""
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            hits += [a.name for a in node.names if _is_config_api(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if _is_config_api(node.module):
                hits.append(node.module)
            elif node.module == "config" and any(a.name == "api" for a in node.names):
                hits.append("config.api")
    return hits


def _is_config_api(name: str) -> bool:
    return name == "config.api" or name.startswith("config.api.")


def test_the_check_sees_the_domain_modules():
    seen = {p.relative_to(ROOT).as_posix() for p in _domain_modules()}
    assert {"games/errors.py", "games/selectors.py", "accounts/ownership.py"} <= seen
    assert not any(name.endswith(("apis.py", "serializers.py", "urls.py")) for name in seen)


def test_the_check_recognises_every_spelling_of_the_import():
    source = (
        "import config.api.errors\nfrom config.api.times import iso_utc\nfrom config import api\n"
    )
    assert _imports_config_api(ast.parse(source)) == [
        "config.api.errors",
        "config.api.times",
        "config.api",
    ]
    assert _imports_config_api(ast.parse("from core.errors import DomainError\n")) == []


def test_domain_modules_do_not_import_the_http_layer():
    offenders = {}
    for path in _domain_modules():
        name = path.relative_to(ROOT).as_posix()
        hits = _imports_config_api(ast.parse(path.read_text(), filename=name))
        if hits:
            offenders[name] = hits
    assert offenders == {}, f"domain modules importing config.api: {offenders}"
