"""Real answers match the schema the server serves (security issue, item 9: schemathesis found
four places where they did not).

Each test makes a real request, then validates the body against the response schema that
`/api/schema/` documents for that route and status, with its references resolved: a field the
schema calls required must be sent, and an answer's shape must be one the schema allows.
"""

from __future__ import annotations

import copy

import jsonschema
import pytest

from chats.models import Chat
from tests.factories import CharacterFactory, GameSessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def served_schema(client) -> dict:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def _openapi_30_to_json_schema(node):
    """OpenAPI 3.0's `nullable: true` as JSON Schema says it."""
    if isinstance(node, dict):
        node = {key: _openapi_30_to_json_schema(value) for key, value in node.items()}
        if node.pop("nullable", False):
            if "type" in node:
                node["type"] = [node["type"], "null"]
            else:
                node = {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_openapi_30_to_json_schema(item) for item in node]
    return node


def response_schema(schema: dict, path: str, method: str, status: int) -> dict:
    responses = schema["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} does not document {status}"
    content = responses[str(status)]["content"]
    body_schema = content["application/json"]["schema"]
    return _openapi_30_to_json_schema(
        {**copy.deepcopy(body_schema), "components": schema["components"]}
    )


def assert_conforms(schema: dict, path: str, method: str, response) -> None:
    jsonschema.Draft202012Validator(
        response_schema(schema, path, method, response.status_code)
    ).validate(response.json())


@pytest.mark.django_db(transaction=True)
def test_the_dialogue_answer_matches_its_schema(client, served_schema):
    session = GameSessionFactory()
    response = client.post(
        "/api/ai/dialogue",
        {"sessionId": str(session.pk), "history": [{"role": "user", "content": "Hello"}]},
    )
    assert response.status_code == 200, response.content
    assert "audioUrl" not in response.json()
    assert_conforms(served_schema, "/api/ai/dialogue", "post", response)


def test_a_saved_message_matches_its_schema(client, served_schema):
    chat_id = client.post("/api/chats", {"prompt": "Plan a picnic"}).json()["id"]
    response = client.post(
        f"/api/chats/{chat_id}/messages",
        {"id": "msg-9", "role": "assistant", "content": "Bring a blanket."},
    )
    assert response.status_code == 200, response.content
    assert_conforms(served_schema, "/api/chats/{chat_id}/messages", "post", response)


@pytest.mark.django_db(transaction=True)
def test_a_character_turn_matches_its_schema(client, served_schema):
    character = CharacterFactory(opening_line="Welcome aboard.")
    chat_id = client.post("/api/chats", {"characterId": character.pk}).json()["id"]
    assert Chat.objects.get(pk=chat_id).character_id == character.pk
    response = client.post(
        f"/api/chats/{chat_id}/messages", {"role": "user", "content": "Where are we going?"}
    )
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"message", "ai_response", "state_snapshot"}
    assert_conforms(served_schema, "/api/chats/{chat_id}/messages", "post", response)


@pytest.mark.parametrize("kind", ["download", "thumbnail"])
def test_a_signed_file_link_over_the_rate_limit_is_a_documented_429(
    client, served_schema, settings, kind
):
    settings.MOVIE_RATE_LIMITS = {**settings.MOVIE_RATE_LIMITS, "anonymous": 1}
    path = f"/api/v1/media/media-unknown/{kind}?token=not-a-valid-token"
    first = client.get(path)
    assert first.status_code == 403
    limited = client.get(path)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "RATE_LIMITED"
    assert_conforms(served_schema, f"/api/v1/media/{{media_id}}/{kind}", "get", limited)
