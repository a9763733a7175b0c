"""One place decides a route's family: every /api/ route's view, `family_for_path` and the CORS
regex agree (config/families.py; CONTRACTS.md, "Families")."""

from __future__ import annotations

import re
import uuid

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern

from config.api.base import FamilyApiView
from config.families import ASSISTANT, FAMILIES, family_for_path, path_regex

# Routes under /api/ that belong to no family: the OpenAPI schema and its Swagger UI.
NOT_FAMILY_VIEWS = {"schema", "docs"}

SAMPLE_BY_CONVERTER = {
    "StringConverter": "1",
    "IntConverter": "1",
    "SlugConverter": "sample-slug",
    "UUIDConverter": str(uuid.UUID(int=1)),
    "PathConverter": "a/b",
}
_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def _sample(route: str, converters: dict) -> str:
    def fill(match: re.Match) -> str:
        return SAMPLE_BY_CONVERTER[type(converters[match["name"]]).__name__]

    return "/" + _PARAM.sub(fill, route)


def _walk(patterns, prefix: str = "", converters: dict | None = None):
    """Yield (sample path, URLPattern) for every route under /api/, through every include."""
    converters = converters or {}
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if not route.startswith("api/"):
            continue
        assert isinstance(entry.pattern, RoutePattern), f"{route}: use path(), not re_path()"
        found = {**converters, **getattr(entry.pattern, "converters", {})}
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route, found)
        elif isinstance(entry, URLPattern):
            yield _sample(route, found), entry


API_ROUTES = list(_walk(get_resolver().url_patterns))


def test_the_walk_finds_every_family():
    families = {
        pattern.callback.cls.family
        for _, pattern in API_ROUTES
        if pattern.name not in NOT_FAMILY_VIEWS
    }
    assert families == set(FAMILIES)
    names = {pattern.name for _, pattern in API_ROUTES}
    assert names >= NOT_FAMILY_VIEWS
    assert {"session-start", "auth-login", "ping", "health"} <= names


@pytest.mark.parametrize(
    ("sample", "pattern"), API_ROUTES, ids=[sample for sample, _ in API_ROUTES]
)
def test_view_path_table_and_cors_agree_on_the_family(sample, pattern):
    assert resolve(sample).func is pattern.callback, f"{sample} is not a sample of its route"
    family = family_for_path(sample)
    cors_open = re.match(settings.CORS_URLS_REGEX, sample) is not None
    if pattern.name in NOT_FAMILY_VIEWS:
        assert family is not None and cors_open == (family == ASSISTANT)
        return
    view = getattr(pattern.callback, "cls", None)
    assert view is not None and issubclass(view, FamilyApiView), (
        f"{sample}: every /api/ view inherits one family base class"
    )
    assert view.family == family, f"{sample}: view says {view.family}, the table {family}"
    assert cors_open == (family == ASSISTANT), f"{sample}: CORS must open family A only"


PATHS = [
    "/api",
    "/api/",
    "/api/nope",
    "/api/v1",
    "/api/v1/projects",
    "/api/v1x",
    "/api/auth",
    "/api/auth/login",
    "/api/authx",
    "/api/chats",
    "/api/chats/1/stream",
    "/api/ping",
    "/api/health",
    "/api/characters/1",
    "/api/messages",
    "/admin/",
    "/",
    "/apix",
]


@pytest.mark.parametrize("path", PATHS)
def test_each_family_regex_matches_exactly_its_paths(path):
    owner = family_for_path(path)
    matching = [family for family in FAMILIES if re.match(path_regex(family), path)]
    assert matching == ([owner] if owner else [])


@pytest.mark.parametrize(
    ("path", "family"),
    [
        ("/api/v1", "M"),
        ("/api/v1/media/search", "M"),
        ("/api/auth/refresh", "M"),
        ("/api/chats/abc/messages", "A"),
        ("/api/ping", "A"),
        ("/api/health", "A"),
        ("/api/characters", "G"),
        ("/api/session/start", "G"),
        ("/api", "G"),
        ("/admin/login/", None),
    ],
)
def test_the_table_follows_the_contract_map(path, family):
    assert family_for_path(path) == family


def test_cors_settings_read_the_table():
    assert path_regex(ASSISTANT) == settings.CORS_URLS_REGEX
