"""The OpenAPI schema says what the server does about tokens, ids and closed objects
(config/api/schema.py FamilyAutoSchema and the fields' schema hints)."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db

OPTIONAL = [{"bearerAuth": []}, {}]
REQUIRED = [{"bearerAuth": []}]


def build() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return build()


def operations(schema: dict, prefix: str = "/api/"):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method != "parameters" and path.startswith(prefix):
                yield path, method, operation


def test_a_token_is_optional_on_g_and_a_and_required_on_m(schema):
    assert schema["paths"]["/api/messages"]["get"]["security"] == OPTIONAL
    assert schema["paths"]["/api/games/{game_id}"]["patch"]["security"] == OPTIONAL
    assert schema["paths"]["/api/chats"]["post"]["security"] == OPTIONAL
    for path, method, operation in operations(schema, "/api/v1/"):
        # Signed download and thumbnail URLs read no token at all, hence declare none.
        assert operation.get("security", REQUIRED) == REQUIRED, (path, method)


def test_g_requires_the_token_when_the_setting_says_so(settings):
    settings.GAME_REQUIRE_AUTH = True
    assert build()["paths"]["/api/messages"]["get"]["security"] == REQUIRED


def test_every_route_that_reads_a_token_documents_its_401_in_the_family_body(schema):
    bodies = {"/api/v1/": "MovieError", "/api/auth/": "MovieError", "/api/chats": "AssistantError"}
    for path, method, operation in operations(schema):
        if {"bearerAuth": []} not in operation.get("security", []):
            continue
        response = operation["responses"].get("401")
        assert response, (path, method)
        ref = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        expected = next((v for k, v in bodies.items() if path.startswith(k)), "GameError")
        assert ref == expected, (path, method, ref)


def test_after_id_has_a_minimum_and_ids_are_positive(schema):
    [after_id] = [
        p for p in schema["paths"]["/api/messages"]["get"]["parameters"] if p["name"] == "afterId"
    ]
    assert after_id["schema"]["oneOf"][0] == {
        "type": "integer",
        "minimum": 0,
        "maximum": 2**63 - 1,
    }
    components = schema["components"]["schemas"]
    game_id = components["SessionStartInputRequest"]["properties"]["gameId"]
    assert game_id["oneOf"][0]["minimum"] == 1


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ("CharacterOutput", "stats"),
        ("CharacterPersonaOutput", "stats"),
        ("GameTitleOutput", "scenario"),
        ("GameTitleInputRequest", "scenario"),
    ],
)
def test_closed_objects_refuse_other_keys_in_the_schema(schema, component, field):
    described = schema["components"]["schemas"][component]["properties"][field]
    assert described["additionalProperties"] is False, described
    assert described["properties"]
