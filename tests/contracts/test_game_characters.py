"""Contract of family G's character routes (seed 001 section 3, CONTRACTS.md "Characters").

GET/PATCH/DELETE /api/characters/:id, PATCH /api/characters/game/:gameId,
GET/POST /api/games/:gameId/characters. Errors are exactly `{"error": "<message>"}`.
"""

from __future__ import annotations

import datetime as dt

import pytest

from characters.health import max_health_for
from characters.models import Character
from games.models import Game
from tests.factories import CharacterFactory, GameFactory
from tests.helpers import game_error as assert_error
from tests.helpers import json_body as assert_json

pytestmark = pytest.mark.django_db

SHEET_KEYS = {
    "id",
    "userId",
    "gameId",
    "name",
    "class",
    "level",
    "stats",
    "inventory",
    "avatar",
    "health",
    "maxHealth",
    "createdAt",
    "updatedAt",
}
STAT_KEYS = {"strength", "dexterity", "wisdom", "charisma"}


def create(client, game_id, **body):
    body.setdefault("userId", 7)
    body.setdefault("name", "Aria")
    body.setdefault("class", "ranger")
    return client.post(f"/api/games/{game_id}/characters", body)


def parse_iso(value):
    assert isinstance(value, str) and value.endswith("Z")
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- POST /api/games/:gameId/characters ---------------------------------------------------------


class TestCreate:
    def test_created_answers_id_and_health_only(self, client):
        body = assert_json(create(client, 42), 201)
        assert set(body) == {"id", "health", "maxHealth"}
        assert isinstance(body["id"], int) and not isinstance(body["id"], bool)
        stored = Character.objects.get(pk=body["id"])
        assert stored.game_id == 42
        assert stored.health == {"current": body["health"], "max": body["maxHealth"]}

    def test_game_is_created_on_first_reference(self, client):
        assert not Game.objects.filter(pk=4242).exists()
        assert_json(create(client, 4242), 201)
        assert Game.objects.filter(pk=4242).exists()
        assert_json(create(client, 4242, name="Bram"), 201)
        assert Game.objects.filter(pk=4242).count() == 1
        assert Character.objects.filter(game_id=4242).count() == 2

    def test_defaults_full_health_from_the_documented_formula(self, client):
        body = assert_json(create(client, 1), 201)
        # level 1, every stat 10: 10 + 5 * 1 + 2 * 10
        assert body["health"] == body["maxHealth"] == 35
        character = assert_json(client.get(f"/api/characters/{body['id']}"), 200)
        assert character["level"] == 1
        assert character["stats"] == dict.fromkeys(STAT_KEYS, 10)
        assert character["inventory"] == []
        assert character["avatar"] == ""

    @pytest.mark.parametrize(
        ("level", "stats", "expected"),
        [
            (3, {"strength": 14}, 10 + 5 * 3 + 2 * 14),
            (10, {"strength": 0, "wisdom": 18}, 10 + 5 * 10),
            (1, {"dexterity": 18}, 35),
        ],
    )
    def test_health_computed_from_level_and_strength(self, client, level, stats, expected):
        body = assert_json(create(client, 1, level=level, stats=stats), 201)
        assert body["health"] == body["maxHealth"] == expected
        merged = {**dict.fromkeys(STAT_KEYS, 10), **stats}
        assert expected == max_health_for(level=level, stats=merged)

    def test_missing_stats_are_filled_with_defaults(self, client):
        body = assert_json(create(client, 1, stats={"strength": 16, "charisma": 3}), 201)
        character = assert_json(client.get(f"/api/characters/{body['id']}"), 200)
        assert character["stats"] == {"strength": 16, "dexterity": 10, "wisdom": 10, "charisma": 3}

    def test_health_as_number_sets_current_under_the_computed_max(self, client):
        body = assert_json(create(client, 1, health=20), 201)
        assert (body["health"], body["maxHealth"]) == (20, 35)

    def test_health_as_object(self, client):
        body = assert_json(create(client, 1, health={"current": 5, "max": 50}), 201)
        assert (body["health"], body["maxHealth"]) == (5, 50)

    def test_health_object_with_max_only_starts_full(self, client):
        body = assert_json(create(client, 1, health={"max": 50}), 201)
        assert (body["health"], body["maxHealth"]) == (50, 50)

    def test_health_object_with_current_only_uses_the_formula_max(self, client):
        body = assert_json(create(client, 1, health={"current": 0}), 201)
        assert (body["health"], body["maxHealth"]) == (0, 35)

    def test_max_health_alone_starts_full(self, client):
        body = assert_json(create(client, 1, maxHealth=80), 201)
        assert (body["health"], body["maxHealth"]) == (80, 80)

    def test_health_and_max_health_together(self, client):
        body = assert_json(create(client, 1, health=60, maxHealth=80), 201)
        assert (body["health"], body["maxHealth"]) == (60, 80)
        body = assert_json(create(client, 1, health={"current": 7, "max": 9}, maxHealth=9), 201)
        assert (body["health"], body["maxHealth"]) == (7, 9)

    def test_full_sheet_is_stored(self, client):
        body = assert_json(
            create(
                client,
                9,
                userId="alice",
                name="Bram",
                level=4,
                stats={"strength": 12, "dexterity": 13, "wisdom": 14, "charisma": 15},
                inventory=["rope", {"name": "potion", "qty": 2}],
                avatar="https://example.com/bram.png",
            ),
            201,
        )
        character = assert_json(client.get(f"/api/characters/{body['id']}"), 200)
        assert set(character) == SHEET_KEYS
        assert character["userId"] == "alice"
        assert character["gameId"] == 9
        assert character["name"] == "Bram"
        assert character["class"] == "ranger"
        assert character["level"] == 4
        assert character["stats"] == {
            "strength": 12,
            "dexterity": 13,
            "wisdom": 14,
            "charisma": 15,
        }
        assert character["inventory"] == ["rope", {"name": "potion", "qty": 2}]
        assert character["avatar"] == "https://example.com/bram.png"
        assert character["health"] == character["maxHealth"] == 10 + 5 * 4 + 2 * 12

    @pytest.mark.parametrize(("sent", "echoed"), [(42, 42), ("42", 42), ("alice", "alice")])
    def test_user_id_echoed_as_number_when_integer(self, client, sent, echoed):
        body = assert_json(create(client, 1, userId=sent), 201)
        character = assert_json(client.get(f"/api/characters/{body['id']}"), 200)
        assert character["userId"] == echoed
        assert type(character["userId"]) is type(echoed)

    def test_numeric_string_and_number_user_ids_name_one_player(self, client):
        assert_json(create(client, 1, userId=42, name="Number"), 201)
        assert_json(create(client, 1, userId="42", name="String"), 201)
        listed = assert_json(client.get("/api/games/1/characters"), 200)
        assert [c["userId"] for c in listed] == [42, 42]

    def test_with_token_user_id_defaults_to_the_caller(self, auth_client, user):
        response = auth_client.post("/api/games/5/characters", {"name": "Mine", "class": "mage"})
        body = assert_json(response, 201)
        character = assert_json(auth_client.get(f"/api/characters/{body['id']}"), 200)
        assert character["userId"] == user.public_id
        assert Character.objects.get(pk=body["id"]).owner_id == user.pk


def _too_large_inventory():
    return ["x" * 1000 for _ in range(40)]


BAD_CREATE_INPUT = [
    # (overrides, keys to remove, words the message must contain)
    ({}, ["name"], ["name", "required"]),
    ({}, ["class"], ["class", "required"]),
    ({}, ["userId"], ["userId", "required"]),
    ({"name": ""}, [], ["name"]),
    ({"name": None}, [], ["name"]),
    ({"name": 123}, [], ["name", "string"]),
    ({"name": "n" * 101}, [], ["name", "100"]),
    ({"class": 5}, [], ["class", "string"]),
    ({"class": ["mage"]}, [], ["class", "string"]),
    ({"class": "c" * 51}, [], ["class", "50"]),
    ({"userId": True}, [], ["userId"]),
    ({"userId": -1}, [], ["userId"]),
    ({"userId": ""}, [], ["userId"]),
    ({"userId": "u" * 129}, [], ["userId"]),
    ({"userId": {"id": 1}}, [], ["userId"]),
    ({"level": 0}, [], ["level"]),
    ({"level": -3}, [], ["level"]),
    ({"level": 1001}, [], ["level", "1000"]),
    ({"level": 10**30}, [], ["level"]),
    ({"level": "3"}, [], ["level", "integer"]),
    ({"level": 2.5}, [], ["level", "integer"]),
    ({"level": True}, [], ["level", "integer"]),
    ({"stats": {"luck": 3}}, [], ["stats", "luck"]),
    ({"stats": {"strength": 10, "constitution": 12}}, [], ["stats", "constitution"]),
    ({"stats": {"strength": "10"}}, [], ["stats", "strength", "integer"]),
    ({"stats": {"wisdom": 10.5}}, [], ["stats", "wisdom", "integer"]),
    ({"stats": {"charisma": True}}, [], ["stats", "charisma", "integer"]),
    ({"stats": {"dexterity": -1}}, [], ["stats", "dexterity"]),
    ({"stats": {"strength": 10**9}}, [], ["stats", "strength"]),
    ({"stats": [10, 10, 10, 10]}, [], ["stats"]),
    ({"stats": "strong"}, [], ["stats"]),
    ({"inventory": "sword"}, [], ["inventory"]),
    ({"inventory": {"sword": 1}}, [], ["inventory"]),
    ({"inventory": list(range(501))}, [], ["inventory", "500"]),
    ({"inventory": _too_large_inventory()}, [], ["inventory"]),
    ({"avatar": 7}, [], ["avatar", "string"]),
    ({"avatar": "a" * 2049}, [], ["avatar"]),
    ({"health": -1}, [], ["health"]),
    ({"health": "20"}, [], ["health"]),
    ({"health": 2.5}, [], ["health"]),
    ({"health": True}, [], ["health"]),
    ({"health": 36}, [], ["health", "exceeds"]),
    ({"health": {"current": -1}}, [], ["health", "current"]),
    ({"health": {"current": 5, "max": 0}}, [], ["health", "max"]),
    ({"health": {"current": 9, "max": 8}}, [], ["health", "exceeds"]),
    ({"health": {"hp": 5}}, [], ["health", "hp"]),
    ({"health": {}}, [], ["health"]),
    ({"health": [5, 10]}, [], ["health"]),
    ({"maxHealth": 0}, [], ["maxHealth"]),
    ({"maxHealth": -5}, [], ["maxHealth"]),
    ({"maxHealth": "50"}, [], ["maxHealth", "integer"]),
    ({"maxHealth": 10**12}, [], ["maxHealth"]),
    ({"health": 60, "maxHealth": 50}, [], ["exceeds"]),
    ({"health": {"current": 5, "max": 40}, "maxHealth": 50}, [], ["maxHealth"]),
]


@pytest.mark.parametrize(("overrides", "remove", "needles"), BAD_CREATE_INPUT)
def test_create_refuses_bad_input_and_writes_nothing(client, overrides, remove, needles):
    body = {"userId": 7, "name": "Aria", "class": "ranger", **overrides}
    for key in remove:
        body.pop(key)
    response = client.post("/api/games/777/characters", body)
    assert_error(response, 400, *needles)
    assert Character.objects.count() == 0
    assert not Game.objects.filter(pk=777).exists()


@pytest.mark.parametrize("payload", [[], ["name"], "Aria", 5, None])
def test_create_refuses_a_body_that_is_not_an_object(client, payload):
    import json

    response = client.generic(
        "POST", "/api/games/777/characters", json.dumps(payload), content_type="application/json"
    )
    assert_error(response, 400)
    assert Character.objects.count() == 0
    assert not Game.objects.filter(pk=777).exists()


def test_create_reports_every_bad_field(client):
    response = client.post(
        "/api/games/1/characters", {"userId": 7, "name": 5, "class": "c", "level": 0}
    )
    assert_error(response, 400, "name", "level")
    assert Character.objects.count() == 0


@pytest.mark.parametrize("game_id", ["abc", "0", "-1", "1.5", "9" * 30])
def test_create_in_a_game_id_that_is_not_an_integer_is_404(client, game_id):
    assert_error(create(client, game_id), 404, "game")
    assert Character.objects.count() == 0


def test_malformed_json_is_a_400_that_writes_nothing(client):
    response = client.generic(
        "POST", "/api/games/1/characters", '{"name": "Aria",', content_type="application/json"
    )
    assert_error(response, 400, "json")
    assert Character.objects.count() == 0


# --- GET /api/games/:gameId/characters ----------------------------------------------------------


class TestList:
    def test_exact_keys_oldest_first_only_this_game(self, client):
        first = assert_json(create(client, 3, name="First", userId=1), 201)["id"]
        second = assert_json(create(client, 3, name="Second", userId="bob"), 201)["id"]
        assert_json(create(client, 4, name="Elsewhere"), 201)
        body = assert_json(client.get("/api/games/3/characters"), 200)
        assert isinstance(body, list)
        assert [c["id"] for c in body] == [first, second]
        for item in body:
            assert set(item) == SHEET_KEYS
            assert item["gameId"] == 3
            assert set(item["stats"]) == STAT_KEYS
            assert isinstance(item["health"], int) and isinstance(item["maxHealth"], int)
            assert parse_iso(item["createdAt"]) <= parse_iso(item["updatedAt"])
        assert [c["userId"] for c in body] == [1, "bob"]

    def test_game_without_characters_is_an_empty_list(self, client):
        GameFactory(id=55)
        assert assert_json(client.get("/api/games/55/characters"), 200) == []

    @pytest.mark.parametrize("game_id", ["999999", "abc", "0"])
    def test_unknown_game_is_404(self, client, game_id):
        assert_error(client.get(f"/api/games/{game_id}/characters"), 404, "game")

    def test_character_chat_fields_appear_when_present(self, client):
        game = GameFactory()
        CharacterFactory(game=game, description="A quiet archivist.", tags=["calm"])
        body = assert_json(client.get(f"/api/games/{game.pk}/characters"), 200)
        assert set(body[0]) == SHEET_KEYS | {"description", "tags"}
        assert body[0]["description"] == "A quiet archivist."
        assert body[0]["tags"] == ["calm"]

    def test_query_count_does_not_grow_with_rows(self, client, django_assert_num_queries):
        game = GameFactory()
        CharacterFactory(game=game)
        with django_assert_num_queries(2):
            assert len(assert_json(client.get(f"/api/games/{game.pk}/characters"), 200)) == 1
        CharacterFactory.create_batch(20, game=game)
        with django_assert_num_queries(2):
            assert len(assert_json(client.get(f"/api/games/{game.pk}/characters"), 200)) == 21


# --- GET /api/characters/:id --------------------------------------------------------------------


class TestDetail:
    def test_exact_keys_and_types(self, client):
        character = CharacterFactory(user_ref="7", level=2)
        body = assert_json(client.get(f"/api/characters/{character.pk}"), 200)
        assert set(body) == SHEET_KEYS
        assert body["id"] == character.pk
        assert body["userId"] == 7
        assert body["gameId"] == character.game_id
        assert body["class"] == "ranger"
        assert body["level"] == 2
        assert (body["health"], body["maxHealth"]) == (35, 35)
        parse_iso(body["createdAt"])
        parse_iso(body["updatedAt"])

    @pytest.mark.parametrize("character_id", ["999999", "abc", "0", "-4", "1e3"])
    def test_unknown_id_is_404(self, client, character_id):
        assert_error(client.get(f"/api/characters/{character_id}"), 404, "not found")


# --- PATCH /api/characters/:id ------------------------------------------------------------------


def snapshot(client, character_id):
    return assert_json(client.get(f"/api/characters/{character_id}"), 200)


class TestPatch:
    def test_partial_update_answers_the_full_sheet(self, client):
        cid = assert_json(create(client, 1), 201)["id"]
        before = snapshot(client, cid)
        body = assert_json(
            client.patch(
                f"/api/characters/{cid}",
                {"name": "Aria the Bold", "level": 2, "avatar": "a.png", "inventory": ["map"]},
            ),
            200,
        )
        assert set(body) == SHEET_KEYS
        assert body["name"] == "Aria the Bold"
        assert body["level"] == 2
        assert body["avatar"] == "a.png"
        assert body["inventory"] == ["map"]
        assert body["class"] == before["class"]
        assert body["userId"] == before["userId"]
        assert snapshot(client, cid) == body

    def test_class_can_be_changed(self, client):
        cid = assert_json(create(client, 1), 201)["id"]
        assert (
            assert_json(client.patch(f"/api/characters/{cid}", {"class": "bard"}), 200)["class"]
            == "bard"
        )

    def test_stats_merge_by_key(self, client):
        cid = assert_json(create(client, 1, stats={"strength": 12}), 201)["id"]
        body = assert_json(client.patch(f"/api/characters/{cid}", {"stats": {"wisdom": 17}}), 200)
        assert body["stats"] == {"strength": 12, "dexterity": 10, "wisdom": 17, "charisma": 10}

    def test_health_number_sets_current(self, client):
        cid = assert_json(create(client, 1), 201)["id"]
        body = assert_json(client.patch(f"/api/characters/{cid}", {"health": 12}), 200)
        assert (body["health"], body["maxHealth"]) == (12, 35)

    def test_health_can_reach_zero(self, client):
        cid = assert_json(create(client, 1), 201)["id"]
        body = assert_json(client.patch(f"/api/characters/{cid}", {"health": 0}), 200)
        assert (body["health"], body["maxHealth"]) == (0, 35)

    def test_health_object_sets_both(self, client):
        cid = assert_json(create(client, 1), 201)["id"]
        body = assert_json(
            client.patch(f"/api/characters/{cid}", {"health": {"current": 40, "max": 60}}), 200
        )
        assert (body["health"], body["maxHealth"]) == (40, 60)
        assert Character.objects.get(pk=cid).health == {"current": 40, "max": 60}

    def test_raising_max_health_keeps_current(self, client):
        cid = assert_json(create(client, 1, health=10), 201)["id"]
        body = assert_json(client.patch(f"/api/characters/{cid}", {"maxHealth": 50}), 200)
        assert (body["health"], body["maxHealth"]) == (10, 50)

    def test_lowering_max_health_clamps_current(self, client):
        cid = assert_json(create(client, 1), 201)["id"]
        body = assert_json(client.patch(f"/api/characters/{cid}", {"maxHealth": 20}), 200)
        assert (body["health"], body["maxHealth"]) == (20, 20)

    def test_lowering_max_through_the_health_object_clamps_current(self, client):
        cid = assert_json(create(client, 1), 201)["id"]
        body = assert_json(client.patch(f"/api/characters/{cid}", {"health": {"max": 20}}), 200)
        assert (body["health"], body["maxHealth"]) == (20, 20)

    def test_lowering_max_above_current_keeps_current(self, client):
        cid = assert_json(create(client, 1, health=10), 201)["id"]
        body = assert_json(client.patch(f"/api/characters/{cid}", {"maxHealth": 20}), 200)
        assert (body["health"], body["maxHealth"]) == (10, 20)

    def test_health_and_max_health_in_one_patch(self, client):
        cid = assert_json(create(client, 1), 201)["id"]
        body = assert_json(
            client.patch(f"/api/characters/{cid}", {"health": 70, "maxHealth": 90}), 200
        )
        assert (body["health"], body["maxHealth"]) == (70, 90)

    def test_sheet_changes_do_not_touch_stored_health(self, client):
        cid = assert_json(create(client, 1, health=11), 201)["id"]
        body = assert_json(
            client.patch(f"/api/characters/{cid}", {"level": 9, "stats": {"strength": 18}}), 200
        )
        assert (body["health"], body["maxHealth"]) == (11, 35)

    def test_character_without_stored_health_gets_the_formula(self, client):
        character = CharacterFactory(health={}, level=2)
        body = assert_json(client.patch(f"/api/characters/{character.pk}", {"name": "N"}), 200)
        assert (body["health"], body["maxHealth"]) == (40, 40)

    def test_updated_at_moves_created_at_stays(self, client):
        cid = assert_json(create(client, 1), 201)["id"]
        before = snapshot(client, cid)
        after = assert_json(client.patch(f"/api/characters/{cid}", {"name": "Later"}), 200)
        assert after["createdAt"] == before["createdAt"]
        assert parse_iso(after["updatedAt"]) >= parse_iso(before["updatedAt"])

    @pytest.mark.parametrize("character_id", ["999999", "abc", "0"])
    def test_unknown_id_is_404(self, client, character_id):
        assert_error(client.patch(f"/api/characters/{character_id}", {"name": "X"}), 404)


BAD_PATCH_INPUT = [
    ({}, ["nothing to update"]),
    ({"name": ""}, ["name"]),
    ({"name": None}, ["name"]),
    ({"name": 5}, ["name", "string"]),
    ({"name": "n" * 101}, ["name"]),
    ({"class": None}, ["class"]),
    ({"class": 1}, ["class", "string"]),
    ({"level": 0}, ["level"]),
    ({"level": -1}, ["level"]),
    ({"level": 1001}, ["level"]),
    ({"level": "2"}, ["level", "integer"]),
    ({"stats": {"luck": 1}}, ["stats", "luck"]),
    ({"stats": {"strength": 11, "speed": 3}}, ["stats", "speed"]),
    ({"stats": {"strength": "11"}}, ["stats", "integer"]),
    ({"stats": {"strength": 1.5}}, ["stats", "integer"]),
    ({"stats": None}, ["stats"]),
    ({"inventory": "axe"}, ["inventory"]),
    ({"inventory": list(range(501))}, ["inventory"]),
    ({"avatar": False}, ["avatar"]),
    ({"health": 36}, ["health", "exceeds"]),
    ({"health": -1}, ["health"]),
    ({"health": "12"}, ["health"]),
    ({"health": {"current": 50}}, ["health", "exceeds"]),
    ({"health": {"current": -2, "max": 10}}, ["health"]),
    ({"health": {"current": 11, "max": 10}}, ["exceeds"]),
    ({"health": {"mana": 3}}, ["health", "mana"]),
    ({"maxHealth": 0}, ["maxHealth"]),
    ({"maxHealth": 2.0}, ["maxHealth", "integer"]),
    ({"health": 30, "maxHealth": 20}, ["exceeds"]),
    ({"health": {"max": 30}, "maxHealth": 20}, ["maxHealth"]),
    ({"name": "Fine", "level": 0}, ["level"]),
]


@pytest.mark.parametrize(("payload", "needles"), BAD_PATCH_INPUT)
def test_patch_refuses_bad_input_and_changes_nothing(client, payload, needles):
    cid = assert_json(create(client, 1), 201)["id"]
    before = snapshot(client, cid)
    stored = Character.objects.get(pk=cid)
    assert_error(client.patch(f"/api/characters/{cid}", payload), 400, *needles)
    assert snapshot(client, cid) == before
    assert Character.objects.get(pk=cid).updated_at == stored.updated_at


def test_patch_with_malformed_json_changes_nothing(client):
    cid = assert_json(create(client, 1), 201)["id"]
    before = snapshot(client, cid)
    response = client.generic(
        "PATCH", f"/api/characters/{cid}", '{"name": ', content_type="application/json"
    )
    assert_error(response, 400, "json")
    assert snapshot(client, cid) == before


# --- DELETE /api/characters/:id -----------------------------------------------------------------


class TestDelete:
    def test_delete_answers_ok_and_removes(self, client):
        cid = assert_json(create(client, 1), 201)["id"]
        assert assert_json(client.delete(f"/api/characters/{cid}"), 200) == {"ok": True}
        assert not Character.objects.filter(pk=cid).exists()
        assert_error(client.get(f"/api/characters/{cid}"), 404)
        assert_error(client.delete(f"/api/characters/{cid}"), 404)

    def test_delete_leaves_the_other_characters(self, client):
        keep = assert_json(create(client, 1, name="Keep"), 201)["id"]
        drop = assert_json(create(client, 1, name="Drop"), 201)["id"]
        assert_json(client.delete(f"/api/characters/{drop}"), 200)
        assert [c["id"] for c in assert_json(client.get("/api/games/1/characters"), 200)] == [keep]

    @pytest.mark.parametrize("character_id", ["999999", "abc"])
    def test_unknown_id_is_404(self, client, character_id):
        assert_error(client.delete(f"/api/characters/{character_id}"), 404)


# --- PATCH /api/characters/game/:gameId ---------------------------------------------------------


class TestRepresentative:
    def test_oldest_character_when_the_caller_is_unknown(self, client):
        oldest = assert_json(create(client, 8, name="Oldest", userId=1), 201)["id"]
        newer = assert_json(create(client, 8, name="Newer", userId=2), 201)["id"]
        body = assert_json(client.patch("/api/characters/game/8", {"level": 5}), 200)
        assert set(body) == SHEET_KEYS
        assert body["id"] == oldest
        assert body["level"] == 5
        assert snapshot(client, newer)["level"] == 1

    def test_user_id_in_the_query_picks_that_players_character(self, client):
        assert_json(create(client, 8, name="Oldest", userId=1), 201)
        theirs = assert_json(create(client, 8, name="Theirs", userId="bob"), 201)["id"]
        response = client.patch("/api/characters/game/8?userId=bob", {"level": 4})
        body = assert_json(response, 200)
        assert (body["id"], body["level"], body["userId"]) == (theirs, 4, "bob")

    def test_user_id_in_the_body_picks_that_players_character(self, client):
        assert_json(create(client, 8, name="Oldest", userId=1), 201)
        theirs = assert_json(create(client, 8, name="Theirs", userId="42"), 201)["id"]
        body = assert_json(client.patch("/api/characters/game/8", {"userId": 42, "level": 3}), 200)
        assert body["id"] == theirs
        assert body["level"] == 3
        assert body["userId"] == 42

    def test_numeric_query_user_id_matches_a_numeric_string(self, client):
        assert_json(create(client, 8, name="Oldest", userId=1), 201)
        theirs = assert_json(create(client, 8, name="Theirs", userId=42), 201)["id"]
        body = assert_json(client.patch("/api/characters/game/8?userId=42", {"name": "X"}), 200)
        assert body["id"] == theirs

    def test_query_user_id_wins_over_the_body(self, client):
        assert_json(create(client, 8, name="Oldest", userId=1), 201)
        by_query = assert_json(create(client, 8, name="Q", userId=2), 201)["id"]
        assert_json(create(client, 8, name="B", userId=3), 201)
        response = client.patch("/api/characters/game/8?userId=2", {"userId": 3, "level": 2})
        assert assert_json(response, 200)["id"] == by_query

    def test_unknown_user_falls_back_to_the_oldest(self, client):
        oldest = assert_json(create(client, 8, name="Oldest", userId=1), 201)["id"]
        assert_json(create(client, 8, name="Other", userId=2), 201)
        body = assert_json(client.patch("/api/characters/game/8?userId=99", {"level": 2}), 200)
        assert body["id"] == oldest

    def test_token_picks_the_callers_character(self, client, auth_client):
        assert_json(create(client, 8, name="Oldest", userId=1), 201)
        mine = assert_json(
            auth_client.post("/api/games/8/characters", {"name": "Mine", "class": "mage"}), 201
        )["id"]
        body = assert_json(auth_client.patch("/api/characters/game/8", {"level": 6}), 200)
        assert body["id"] == mine
        assert body["level"] == 6

    def test_only_characters_of_that_game_are_considered(self, client):
        assert_json(create(client, 8, name="Elsewhere", userId=2), 201)
        here = assert_json(create(client, 9, name="Here", userId=1), 201)["id"]
        body = assert_json(client.patch("/api/characters/game/9?userId=2", {"level": 2}), 200)
        assert body["id"] == here

    def test_health_rules_apply(self, client):
        cid = assert_json(create(client, 8), 201)["id"]
        body = assert_json(client.patch("/api/characters/game/8", {"maxHealth": 10}), 200)
        assert (body["id"], body["health"], body["maxHealth"]) == (cid, 10, 10)
        assert_error(client.patch("/api/characters/game/8", {"health": 11}), 400, "exceeds")
        assert snapshot(client, cid)["health"] == 10

    def test_game_without_characters_is_404(self, client):
        GameFactory(id=31)
        assert_error(client.patch("/api/characters/game/31", {"level": 2}), 404, "31")

    @pytest.mark.parametrize("game_id", ["424242", "abc"])
    def test_unknown_game_is_404(self, client, game_id):
        assert_error(client.patch(f"/api/characters/game/{game_id}", {"level": 2}), 404)
        assert not Game.objects.filter(pk=424242).exists()

    @pytest.mark.parametrize(("payload", "needles"), BAD_PATCH_INPUT)
    def test_bad_input_changes_nothing(self, client, payload, needles):
        cid = assert_json(create(client, 8), 201)["id"]
        before = snapshot(client, cid)
        assert_error(client.patch("/api/characters/game/8", payload), 400, *needles)
        assert snapshot(client, cid) == before

    @pytest.mark.parametrize("user_id", [True, "", {"id": 1}, -5])
    def test_bad_user_id_in_the_body_is_400_naming_it(self, client, user_id):
        cid = assert_json(create(client, 8), 201)["id"]
        before = snapshot(client, cid)
        response = client.patch("/api/characters/game/8", {"userId": user_id, "level": 2})
        assert_error(response, 400, "userId")
        assert snapshot(client, cid) == before
