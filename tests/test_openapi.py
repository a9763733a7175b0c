"""The OpenAPI schema describes every route, its body and its family's error body."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db

G_ROUTES = {
    "/api/session/start": {"post"},
    "/api/session/end": {"post"},
    "/api/session/{session_id}": {"get"},
    "/api/games/{game_id}": {"get", "patch"},
    "/api/games/{game_id}/title": {"get", "post", "patch", "delete"},
    "/api/game_titles": {"get", "post"},
    "/api/game_titles/{title_id}": {"get", "patch", "delete"},
    "/api/characters": {"post"},
    "/api/characters/{character_id}": {"get", "patch", "put", "delete"},
    "/api/characters/import": {"post"},
    "/api/characters/{character_id}/card": {"get"},
    "/api/characters/{character_id}/avatar": {"get"},
    "/api/characters/game/{game_id}": {"patch"},
    "/api/games/{game_id}/characters": {"get", "post"},
    "/api/progress/{session_id}": {"get", "patch"},
    "/api/progress/{session_id}/checkpoints": {"post"},
    "/api/messages": {"get", "post"},
    "/api/history/{game_id}": {"get"},
    "/api/ai/generate-scenario": {"post"},
    "/api/ai/dialogue": {"post"},
    "/api/ai/image": {"post"},
    "/api/ai/images/{image_id}": {"get"},
}
# Actions that take no body (the path names everything).
BODYLESS = {
    "/api/session/end",
    "/api/v1/invitations/{invitation_id}/accept",
    "/api/v1/media/{media_id}/reanalyze",
    "/api/chats/{chat_id}/messages/{message_id}/activate",
}
M_ROUTES = {
    "/api/auth/login": {"post"},
    "/api/auth/refresh": {"post"},
    "/api/auth/logout": {"post"},
    "/api/v1/projects": {"get", "post"},
    "/api/v1/projects/{project_id}": {"get", "put"},
    "/api/v1/projects/{project_id}/collaborators": {"post"},
    "/api/v1/invitations": {"get"},
    "/api/v1/invitations/{invitation_id}/accept": {"post"},
    "/api/v1/chat/message": {"post"},
    "/api/v1/chat/choice": {"post"},
    "/api/v1/chat/upload": {"post"},
    "/api/v1/chat/session/{session_id}": {"get"},
    "/api/v1/chat/sessions": {"get"},
    "/api/v1/media": {"get"},
    "/api/v1/media/upload": {"post"},
    "/api/v1/media/search": {"post"},
    "/api/v1/media/{media_id}": {"get", "patch", "delete"},
    "/api/v1/media/{media_id}/reanalyze": {"post"},
}
A_ROUTES = {
    "/api/ping": {"get"},
    "/api/health": {"get"},
    "/api/chats": {"get", "post"},
    "/api/chats/{chat_id}": {"get", "post", "put", "delete"},
    "/api/chats/{chat_id}/stream": {"get", "delete"},
    "/api/chats/{chat_id}/messages": {"post"},
    "/api/chats/{chat_id}/state": {"get", "post"},
    "/api/chats/{chat_id}/messages/{message_id}/prompt": {"get"},
    "/api/chats/{chat_id}/messages/{message_id}/activate": {"post"},
}


@pytest.fixture(scope="module")
def schema(django_db_blocker, tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    with django_db_blocker.unblock():
        # --fail-on-warn: an undocumented field or authenticator is a failure.
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def _error_ref(operation: dict, status: str) -> str:
    content = operation["responses"][status]["content"]["application/json"]["schema"]
    return content["$ref"].rsplit("/", 1)[-1]


@pytest.mark.parametrize(
    ("routes", "error_schema"),
    [(G_ROUTES, "GameError"), (M_ROUTES, "MovieError"), (A_ROUTES, None)],
)
def test_every_route_is_described_with_its_family_error(schema, routes, error_schema):
    for path, methods in routes.items():
        assert path in schema["paths"], path
        described = set(schema["paths"][path]) - {"parameters"}
        assert methods <= described, (path, methods - described)
        for method in methods:
            operation = schema["paths"][path][method]
            if error_schema:
                assert _error_ref(operation, "400") == error_schema, (path, method)
            else:
                assert _error_ref(operation, "405") == "AssistantError", (path, method)
            if method in {"post", "patch"} and path not in BODYLESS:
                assert "requestBody" in operation, (path, method)


def test_error_bodies_match_the_envelopes(schema):
    components = schema["components"]["schemas"]
    assert set(components["GameError"]["properties"]) == {"error"}
    assert set(components["MovieError"]["properties"]) == {
        "success",
        "error",
        "requestId",
        "timestamp",
    }
    assert set(components["AssistantError"]["properties"]) == {"statusCode", "statusMessage"}


def test_bearer_scheme_is_declared(schema):
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_docs_render_without_internet(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    assert b"swagger-ui" in page.content
    assert b"cdn." not in page.content and b"unpkg" not in page.content


def test_a_replys_prompt_is_described_with_its_parts_and_404(schema):
    operation = schema["paths"]["/api/chats/{chat_id}/messages/{message_id}/prompt"]["get"]
    assert _error_ref(operation, "404") == "AssistantError"
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    record = schema["components"]["schemas"][ok.rsplit("/", 1)[-1]]
    assert set(record["properties"]) == {
        "messageId",
        "model",
        "provider",
        "messages",
        "lorebook",
        "tokens",
        "history",
    }
