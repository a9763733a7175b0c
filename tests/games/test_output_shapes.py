"""Each game route answers exactly the shape its Output serializer declares in the OpenAPI
schema: the serializer is the one definition of the body (keys, and which are required)."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from games.models import GameImage, Message
from tests.factories import GameSessionFactory, GameTitleFactory, message_for
from tests.helpers import json_body

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture(scope="module")
def components(schema):
    return schema["components"]["schemas"]


@pytest.fixture(scope="module")
def paths(schema):
    return schema["paths"]


def _response_schema(paths, components, template: str, method: str, status: int) -> dict:
    content = paths[template][method]["responses"][str(status)]["content"]["application/json"]
    schema = content["schema"]
    if schema.get("type") == "array":
        schema = schema["items"]
    return components[schema["$ref"].rsplit("/", 1)[-1]]


def _check(body: dict, schema: dict, components: dict) -> None:
    declared = set(schema["properties"])
    assert set(body) <= declared, f"undeclared keys {set(body) - declared}"
    assert set(schema.get("required", ())) <= set(body)
    for key, prop in schema["properties"].items():
        ref = prop.get("items", {}).get("$ref") if prop.get("type") == "array" else None
        if ref and key in body:
            for item in body[key]:
                _check(item, components[ref.rsplit("/", 1)[-1]], components)


@pytest.fixture
def session_with_log():
    session = GameSessionFactory()
    message_for(session, "user", "I open the door")
    narration = message_for(session, "assistant", "It creaks")
    Message.objects.filter(pk=narration.pk).update(type="narration")
    picture = message_for(session, "assistant", "A lantern")
    image = GameImage.objects.create(
        session=session, prompt="a lantern", mime="image/png", width=1, height=1, data=b"x"
    )
    Message.objects.filter(pk=picture.pk).update(image=image, type="image")
    return session


def test_message_list_items_match_message_output(client, paths, components, session_with_log):
    body = json_body(client.get(f"/api/messages?sessionId={session_with_log.pk}"))
    schema = _response_schema(paths, components, "/api/messages", "get", 200)
    assert len(body) == 3
    assert "type" not in body[0] and body[1]["type"] == "narration"
    for item in body:
        _check(item, schema, components)


def test_history_matches_history_output(client, paths, components, session_with_log):
    body = json_body(client.get(f"/api/history/{session_with_log.game_id}"))
    schema = _response_schema(paths, components, "/api/history/{game_id}", "get", 200)
    _check(body, schema, components)
    assert (body["success"], body["total"], body["source"]) == (True, 3, "database")
    image_id = GameImage.objects.get().pk
    assert [row["image_url"] for row in body["data"]] == [None, None, f"/api/ai/images/{image_id}"]


def test_created_message_and_ok_answers_match_their_outputs(client, paths, components):
    session = GameSessionFactory()
    created = client.post(
        "/api/messages", {"sessionId": str(session.pk), "role": "user", "content": "hi"}
    )
    body = json_body(created, 201)
    _check(body, _response_schema(paths, components, "/api/messages", "post", 201), components)
    assert body == {"id": Message.objects.get().pk}

    ended = json_body(client.post("/api/session/end", {"sessionId": str(session.pk)}))
    _check(ended, _response_schema(paths, components, "/api/session/end", "post", 200), components)
    title = GameTitleFactory()
    deleted = json_body(client.delete(f"/api/game_titles/{title.pk}"))
    template = "/api/game_titles/{title_id}"
    _check(deleted, _response_schema(paths, components, template, "delete", 200), components)
    assert ended == deleted == {"ok": True}
