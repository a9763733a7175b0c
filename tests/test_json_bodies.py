"""Every family's JSON bodies under one parser (config/api/parsers.py): nesting depth, finite
numbers, NUL characters and lone surrogates are refused with a 400 in the family's body,
naming the field where one value is at fault."""

from __future__ import annotations

import pytest

from config.api.parsers import JsonInputError, json_parse
from games.models import Game
from tests.factories import GameFactory, GameSessionFactory

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000


def g_error(response) -> str:
    assert set(response.json()) == {"error"}, response.json()
    return response.json()["error"]


# --- depth -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "envelope"),
    [
        ("post", "/api/messages", {"error"}),
        ("patch", "/api/games/5", {"error"}),
        ("post", "/api/chats", {"statusCode", "statusMessage"}),
        ("post", "/api/auth/login", {"success", "error", "requestId", "timestamp"}),
    ],
)
def test_deeply_nested_json_is_a_400_in_the_familys_body(client, method, path, envelope):
    GameFactory(id=5)
    for body in (DEEP, '{"metadata": ' + DEEP + "}", '{"a": "' + "[" * 1000 + '"}'):
        response = getattr(client, method)(path, body, content_type="application/json")
        if body.startswith('{"a"'):
            # Brackets inside a string do not count: this body is shallow (and simply wrong).
            assert "nested" not in response.content.decode()
            continue
        assert response.status_code == 400, response.content[:200]
        assert set(response.json()) == envelope
        assert "nested deeper than 64 levels" in response.content.decode()


def test_the_depth_limit_is_a_setting_and_counts_levels_exactly(settings):
    settings.JSON_MAX_DEPTH = 3
    assert json_parse('{"a": [{"b": 1}]}') == {"a": [{"b": 1}]}
    assert json_parse('[[["]]]]]]"]]]') == [[["]]]]]]"]]]
    assert json_parse('[[[1]], [[2]], "\\"[[[["]') == [[[1]], [[2]], '"[[[[']
    with pytest.raises(JsonInputError, match="deeper than 3"):
        json_parse('{"a": [{"b": []}]}')


def test_an_allowed_depth_still_reaches_the_view(client):
    game = GameFactory()
    nested = {"x": 1}
    for _ in range(60):
        nested = {"n": nested}
    response = client.patch(f"/api/games/{game.pk}", {"metadata": nested})
    assert response.status_code == 200, response.content
    Game.objects.get(pk=game.pk)


# --- numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"metadata": {"x": 1e400}}', "metadata.x"),
        ('{"metadata": {"x": -1E+999}}', "metadata.x"),
        ('{"metadata": {"x": NaN}}', "metadata.x"),
        ('{"metadata": {"list": [1, 2, Infinity]}}', "metadata.list.2"),
        ('{"metadata": {"x": -Infinity}}', "metadata.x"),
        ("1e400", "body"),
    ],
)
def test_numbers_that_are_not_finite_are_a_400_naming_the_field(client, body, field):
    game = GameFactory(metadata={"kept": True})
    response = client.patch(f"/api/games/{game.pk}", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert g_error(response) == f"{field}: number out of range"
    game.refresh_from_db()
    assert game.metadata == {"kept": True}


def test_large_finite_numbers_are_kept(client):
    game = GameFactory()
    response = client.patch(
        f"/api/games/{game.pk}",
        '{"metadata": {"x": 1.5e308, "y": 1e-400}}',
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    game.refresh_from_db()
    # PostgreSQL's jsonb keeps numbers as exact decimals, so 1.5e308 may come back as the
    # integer of that value: the number is kept, compare it as a float.
    assert {key: float(value) for key, value in game.metadata.items()} == {"x": 1.5e308, "y": 0.0}


def test_family_m_names_the_field_in_its_details(client):
    response = client.post(
        "/api/auth/login",
        '{"email": "a@example.com", "password": NaN}',
        content_type="application/json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert body["error"]["details"] == [{"field": "password", "message": "number out of range"}]


def test_family_a_refuses_a_non_finite_number(client):
    response = client.post(
        "/api/chats", '{"prompt": "hi", "x": 1e999}', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"statusCode": 400, "statusMessage": "x: number out of range"}


# --- NUL and lone surrogates -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ('"a\\u0000b"', "Null characters are not allowed"),
        ('"a\\ud800b"', "Surrogate characters are not allowed: U+D800"),
        ('"\\udfff"', "Surrogate characters are not allowed: U+DFFF"),
    ],
)
def test_nul_and_lone_surrogates_are_refused_everywhere_in_the_same_words(client, raw, words):
    session = GameSessionFactory()
    body = f'{{"sessionId": "{session.pk}", "role": "user", "content": {raw}}}'
    response = client.post("/api/messages", body, content_type="application/json")
    assert response.status_code == 400
    assert g_error(response) == f"content: {words}"
    # In a free-form JSON field, and in a key, where no serializer field would look; a key
    # is named by its object's path, never echoed.
    game = GameFactory()
    in_a_key = words.replace(" allowed", " allowed in a key")
    for body, message in (
        (f'{{"metadata": {{"notes": [{raw}]}}}}', f"metadata.notes.0: {words}"),
        (f'{{"metadata": {{{raw}: 1}}}}', f"metadata: {in_a_key}"),
        (f"{{{raw}: 1}}", f"body: {in_a_key}"),
    ):
        response = client.patch(f"/api/games/{game.pk}", body, content_type="application/json")
        assert response.status_code == 400, response.content
        assert g_error(response) == message


def test_a_surrogate_pair_is_one_character_and_fine(client):
    game = GameFactory()
    response = client.patch(
        f"/api/games/{game.pk}",
        '{"metadata": {"e": "\\ud83d\\ude00"}}',
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    game.refresh_from_db()
    assert game.metadata == {"e": "\U0001f600"}


def test_a_body_that_is_not_utf8_is_a_400(client):
    response = client.post("/api/messages", b'{"a": "\xff"}', content_type="application/json")
    assert response.status_code == 400
    assert g_error(response).startswith("Malformed request body")


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ('["\\ud83d\\ude00"]', None),  # an escaped pair, as ensure_ascii writes emoji
        ('["ok\\\\ud800"]', None),  # an escaped backslash, then plain letters
        ('["\\ud83d\\ude00", "\\uDC00"]', "1: Surrogate characters are not allowed: U+DC00"),
        ('["\\udc00\\ud83d"]', "0: Surrogate characters are not allowed: U+DC00"),
        ('{"a": [1, {"b": 2.5e-3}, {"c": 9e999}]}', "a.2.c: number out of range"),
        ('[["' + "[" * 100 + '"]]', None),
        ("[" * 65 + "]" * 65, "JSON nested deeper than 64 levels"),
        ("[" * 65, "JSON nested deeper than 64 levels"),  # unclosed openers count as levels
        ("[" * 64 + "]" * 64, None),
    ],
)
def test_the_reader_refuses_exactly_what_it_must(text, refused):
    if refused is None:
        json_parse(text)
    else:
        with pytest.raises(JsonInputError) as caught:
            json_parse(text)
        assert str(caught.value) == refused
