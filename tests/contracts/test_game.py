"""Contract tests of family G (seeds 000 and 001, CONTRACTS.md): sessions, games, titles,
progress, messages and history. Characters, /api/ai/* and the WebSocket are tested elsewhere.

Every answer is checked for its status, its JSON content type and its exact key set; every error
for the `{"error": "<message>"}` body, a message naming the problem, and that nothing was written.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import pytest
from django.db import transaction

from games import services
from games.models import (
    Checkpoint,
    Game,
    GameImage,
    GameSession,
    GameTitle,
    Message,
    Progress,
    SessionStatus,
)
from tests.factories import (
    CharacterFactory,
    GameFactory,
    GameSessionFactory,
    GameTitleFactory,
    message_for,
)
from tests.helpers import game_error as assert_error
from tests.helpers import json_body as ok

pytestmark = pytest.mark.django_db

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
SESSION_KEYS = {"sessionId", "gameId", "userId", "characterId", "startedAt", "status"}
GAME_KEYS = {"id", "title", "genre", "difficulty", "metadata"}
TITLE_KEYS = {"id", "title", "description", "image", "genre", "date"}
PROGRESS_KEYS = {"sessionId", "chapter", "step", "checkpoints"}
CHECKPOINT_KEYS = {"key", "value", "at"}
MESSAGE_KEYS = {"id", "role", "content", "createdAt"}
HISTORY_KEYS = {"success", "data", "total", "source"}
HISTORY_ITEM_KEYS = {"content", "game_id", "image_url", "role", "sequence_number", "timestamp"}
LIMIT = 32 * 1024


# --- helpers -----------------------------------------------------------------------------------


def is_iso_utc(value: object) -> bool:
    if not isinstance(value, str) or not ISO_Z.match(value):
        return False
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.utcoffset() == dt.timedelta(0)


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Game, GameTitle, GameSession, Progress, Checkpoint, Message)
    }


def start_session(client, **overrides) -> dict:
    character = overrides.pop("character", None) or CharacterFactory(game=None)
    payload = {"gameId": 4242, "userId": 7, "characterId": character.pk, **overrides}
    return ok(client.post("/api/session/start", payload), 201)


def post_message(client, session, content="hello", role="user", **extra):
    return client.post(
        "/api/messages",
        {"sessionId": str(getattr(session, "pk", session)), "role": role, "content": content}
        | extra,
    )


def end_session(session) -> None:
    GameSession.objects.filter(pk=session.pk).update(status=SessionStatus.ENDED)


@pytest.fixture
def session():
    return GameSessionFactory()


# --- POST /api/session/start -------------------------------------------------------------------


class TestSessionStart:
    def test_creates_session_progress_and_game_on_first_reference(self, client):
        character = CharacterFactory(game=None)
        assert not Game.objects.filter(pk=501).exists()

        response = client.post(
            "/api/session/start", {"gameId": 501, "userId": 9, "characterId": character.pk}
        )

        body = ok(response, 201)
        assert set(body) == {"sessionId", "createdAt"}
        assert isinstance(body["sessionId"], str)
        assert is_iso_utc(body["createdAt"])
        stored = GameSession.objects.get(pk=body["sessionId"])
        assert stored.game_id == 501 and stored.character_id == character.pk
        assert stored.user_ref == "9" and stored.status == "active"
        assert Game.objects.filter(pk=501).exists()
        progress = Progress.objects.get(session=stored)
        assert (progress.chapter, progress.step, progress.last_message_id) == (1, 0, None)
        assert not progress.checkpoints.exists()

    def test_reuses_existing_game(self, client):
        game = GameFactory(title="Existing")
        character = CharacterFactory(game=game)
        before = Game.objects.count()
        ok(
            client.post(
                "/api/session/start",
                {"gameId": game.pk, "userId": 1, "characterId": character.pk},
            ),
            201,
        )
        assert Game.objects.count() == before
        game.refresh_from_db()
        assert game.title == "Existing"

    @pytest.mark.parametrize(
        ("game_id", "user_id", "character_as_str"),
        [(77, 5, False), ("77", "5", True), (" 77 ", 5, True)],
    )
    def test_ids_as_numbers_or_numeric_strings(self, client, game_id, user_id, character_as_str):
        character = CharacterFactory(game=None)
        character_id = str(character.pk) if character_as_str else character.pk
        body = ok(
            client.post(
                "/api/session/start",
                {"gameId": game_id, "userId": user_id, "characterId": character_id},
            ),
            201,
        )
        detail = ok(client.get(f"/api/session/{body['sessionId']}"))
        assert detail["gameId"] == 77
        assert detail["userId"] == 5
        assert detail["characterId"] == character.pk

    def test_token_holder_becomes_owner_and_default_user(self, auth_client, user):
        # userId omitted: the token's user is the player
        body = ok(
            auth_client.post(
                "/api/session/start",
                {"gameId": 4242, "characterId": CharacterFactory(game=None).pk},
            ),
            201,
        )
        stored = GameSession.objects.get(pk=body["sessionId"])
        assert stored.owner_id == user.pk
        assert ok(auth_client.get(f"/api/session/{stored.pk}"))["userId"] == user.public_id

    @pytest.mark.parametrize(
        ("payload", "fragments"),
        [
            ({"userId": 1, "characterId": "CHAR"}, ["gameId", "required"]),
            ({"gameId": 1, "userId": 1}, ["characterId", "required"]),
            ({"gameId": 1, "characterId": "CHAR"}, ["userId", "required"]),
            ({"gameId": "abc", "userId": 1, "characterId": "CHAR"}, ["gameId"]),
            ({"gameId": 0, "userId": 1, "characterId": "CHAR"}, ["gameId"]),
            ({"gameId": -3, "userId": 1, "characterId": "CHAR"}, ["gameId"]),
            ({"gameId": 1.5, "userId": 1, "characterId": "CHAR"}, ["gameId"]),
            ({"gameId": 2**63, "userId": 1, "characterId": "CHAR"}, ["gameId"]),
            ({"gameId": True, "userId": 1, "characterId": "CHAR"}, ["gameId"]),
            ({"gameId": None, "userId": 1, "characterId": "CHAR"}, ["gameId"]),
            ({"gameId": [1], "userId": 1, "characterId": "CHAR"}, ["gameId"]),
            ({"gameId": 1, "userId": True, "characterId": "CHAR"}, ["userId"]),
            ({"gameId": 1, "userId": -1, "characterId": "CHAR"}, ["userId"]),
            ({"gameId": 1, "userId": "", "characterId": "CHAR"}, ["userId"]),
            ({"gameId": 1, "userId": "x" * 129, "characterId": "CHAR"}, ["userId"]),
            ({"gameId": 1, "userId": {"id": 1}, "characterId": "CHAR"}, ["userId"]),
            ({"gameId": 1, "userId": 1, "characterId": "hero"}, ["characterId"]),
            ({"gameId": 1, "userId": 1, "characterId": 0}, ["characterId"]),
            ({"gameId": 1, "userId": 1, "characterId": 999999}, ["characterId", "not found"]),
        ],
    )
    def test_bad_input_is_400_and_writes_nothing(self, client, payload, fragments):
        character = CharacterFactory(game=None)
        payload = {k: (character.pk if v == "CHAR" else v) for k, v in payload.items()}
        before = counts()
        assert_error(client.post("/api/session/start", payload), 400, *fragments)
        assert counts() == before

    def test_character_of_another_game_is_400_and_writes_nothing(self, client):
        character = CharacterFactory(game=GameFactory(id=11))
        before = counts()
        message = assert_error(
            client.post(
                "/api/session/start", {"gameId": 12, "userId": 1, "characterId": character.pk}
            ),
            400,
            "characterId",
        )
        assert "11" in message
        assert counts() == before
        assert not Game.objects.filter(pk=12).exists()


# --- POST /api/session/end ---------------------------------------------------------------------


class TestSessionEnd:
    def test_ends_and_is_idempotent(self, client, session):
        body = ok(client.post("/api/session/end", {"sessionId": str(session.pk)}))
        assert body == {"ok": True}
        session.refresh_from_db()
        assert session.status == "ended" and session.ended_at is not None
        ended_at = session.ended_at

        again = ok(client.post("/api/session/end", {"sessionId": str(session.pk)}))
        assert again == {"ok": True}
        session.refresh_from_db()
        assert session.status == "ended" and session.ended_at == ended_at
        assert ok(client.get(f"/api/session/{session.pk}"))["status"] == "ended"

    @pytest.mark.parametrize(
        ("payload", "status", "fragments"),
        [
            ({}, 400, ["sessionId", "required"]),
            ({"sessionId": 5}, 400, ["sessionId", "string"]),
            ({"sessionId": None}, 400, ["sessionId"]),
            ({"sessionId": ""}, 400, ["sessionId"]),
            ({"sessionId": "x" * 65}, 400, ["sessionId"]),
            ({"sessionId": "not-a-session"}, 404, ["not-a-session", "not found"]),
            ({"sessionId": "UNKNOWN"}, 404, ["not found"]),
        ],
    )
    def test_bad_input(self, client, session, payload, status, fragments):
        payload = {k: (str(uuid.uuid4()) if v == "UNKNOWN" else v) for k, v in payload.items()}
        assert_error(client.post("/api/session/end", payload), status, *fragments)
        session.refresh_from_db()
        assert session.status == "active" and session.ended_at is None

    def test_owned_session_only_by_owner(self, auth_client, other_auth_client, client):
        session_id = start_session(auth_client)["sessionId"]
        assert_error(other_auth_client.post("/api/session/end", {"sessionId": session_id}), 403)
        assert_error(client.post("/api/session/end", {"sessionId": session_id}), 401, "token")
        assert GameSession.objects.get(pk=session_id).status == "active"
        assert ok(auth_client.post("/api/session/end", {"sessionId": session_id})) == {"ok": True}


# --- GET /api/session/:id ----------------------------------------------------------------------


class TestSessionDetail:
    def test_shape(self, client, session):
        body = ok(client.get(f"/api/session/{session.pk}"))
        assert set(body) == SESSION_KEYS
        assert body["sessionId"] == str(session.pk)
        assert body["gameId"] == session.game_id and isinstance(body["gameId"], int)
        assert body["userId"] == 7
        assert body["characterId"] == session.character_id
        assert is_iso_utc(body["startedAt"])
        assert body["status"] == "active"

    @pytest.mark.parametrize(
        ("sent", "expected"),
        [(42, 42), ("42", 42), ("alice", "alice"), ("007", "007"), ("user-9", "user-9")],
    )
    def test_user_id_number_when_integer_else_string(self, client, sent, expected):
        body = start_session(client, userId=sent)
        detail = ok(client.get(f"/api/session/{body['sessionId']}"))
        assert detail["userId"] == expected
        assert type(detail["userId"]) is type(expected)
        assert detail["startedAt"] == body["createdAt"]

    @pytest.mark.parametrize("session_id", ["nope", "12", str(uuid.uuid4())])
    def test_unknown_is_404(self, client, session_id):
        assert_error(client.get(f"/api/session/{session_id}"), 404, "not found")

    def test_wrong_method_is_405_in_envelope(self, client, session):
        assert_error(client.delete(f"/api/session/{session.pk}"), 405, "DELETE")
        assert_error(client.get("/api/session/start"), 405, "GET")
        assert GameSession.objects.filter(pk=session.pk).exists()


# --- GET/PATCH /api/games/:gameId --------------------------------------------------------------


class TestGameDetail:
    def test_get_shape(self, client):
        game = GameFactory(title="Dune", genre="sf", difficulty="hard", metadata={"a": [1, 2]})
        body = ok(client.get(f"/api/games/{game.pk}"))
        assert body == {
            "id": game.pk,
            "title": "Dune",
            "genre": "sf",
            "difficulty": "hard",
            "metadata": {"a": [1, 2]},
        }

    def test_title_falls_back_to_linked_catalogue_title(self, client):
        game = GameFactory(title="", game_title=GameTitleFactory(title="From catalogue"))
        body = ok(client.get(f"/api/games/{game.pk}"))
        assert set(body) == GAME_KEYS
        assert body["title"] == "From catalogue"

    @pytest.mark.parametrize("game_id", ["999999", "abc", "0", "-1", "1.5"])
    def test_unknown_or_non_numeric_is_404(self, client, game_id):
        assert_error(client.get(f"/api/games/{game_id}"), 404, "not found")

    def test_patch_partial_update(self, client):
        game = GameFactory(title="Old", genre="fantasy", difficulty="easy", metadata={"x": 1})
        body = ok(client.patch(f"/api/games/{game.pk}", {"difficulty": "hard", "metadata": {}}))
        assert body == {
            "id": game.pk,
            "title": "Old",
            "genre": "fantasy",
            "difficulty": "hard",
            "metadata": {},
        }
        game.refresh_from_db()
        assert (game.title, game.difficulty, game.metadata) == ("Old", "hard", {})

    def test_patch_all_fields(self, client):
        game = GameFactory()
        payload = {"title": "New", "genre": "horror", "difficulty": "", "metadata": {"k": "v"}}
        body = ok(client.patch(f"/api/games/{game.pk!s}", payload))
        assert body == {"id": game.pk, **payload}
        assert ok(client.get(f"/api/games/{game.pk}")) == body

    @pytest.mark.parametrize("game_id", ["999999", "abc"])
    def test_patch_unknown_is_404_and_creates_nothing(self, client, game_id):
        before = counts()
        assert_error(client.patch(f"/api/games/{game_id}", {"title": "x"}), 404, "not found")
        assert counts() == before

    @pytest.mark.parametrize(
        ("payload", "fragments"),
        [
            ({"title": 5}, ["title", "string"]),
            ({"title": None}, ["title", "null"]),
            ({"title": "x" * 201}, ["title", "200"]),
            ({"genre": ["a"]}, ["genre", "string"]),
            ({"genre": "x" * 101}, ["genre", "100"]),
            ({"difficulty": 3}, ["difficulty", "string"]),
            ({"difficulty": "x" * 51}, ["difficulty", "50"]),
            ({"metadata": [1]}, ["metadata"]),
            ({"metadata": "x"}, ["metadata"]),
            ({"metadata": {"big": "x" * LIMIT}}, ["metadata", "larger"]),
        ],
    )
    def test_patch_bad_input_changes_nothing(self, client, payload, fragments):
        game = GameFactory(title="Keep", genre="g", difficulty="d", metadata={"m": 1})
        assert_error(client.patch(f"/api/games/{game.pk}", payload), 400, *fragments)
        game.refresh_from_db()
        assert (game.title, game.genre, game.difficulty, game.metadata) == (
            "Keep",
            "g",
            "d",
            {"m": 1},
        )


# --- /api/game_titles --------------------------------------------------------------------------


def title_shape(body: dict, *, scenario: bool) -> None:
    assert set(body) == (TITLE_KEYS | {"scenario"} if scenario else TITLE_KEYS)
    assert isinstance(body["id"], int)
    assert is_iso_utc(body["date"])


class TestGameTitleCatalogue:
    def test_create_minimal_omits_scenario(self, client):
        body = ok(client.post("/api/game_titles", {"title": "Night"}), 201)
        title_shape(body, scenario=False)
        assert body["title"] == "Night"
        assert body["description"] == body["image"] == body["genre"] == ""
        stored = GameTitle.objects.get(pk=body["id"])
        assert stored.scenario is None

    def test_create_full(self, client):
        payload = {
            "title": "Night",
            "description": "A dark city.",
            "image": "https://img.example/n.png",
            "genre": "noir",
            "scenario": {"hook": "A body", "role": "Detective", "mission": "Solve it"},
        }
        body = ok(client.post("/api/game_titles", payload), 201)
        title_shape(body, scenario=True)
        assert {k: body[k] for k in payload} == payload
        assert ok(client.get(f"/api/game_titles/{body['id']}")) == body

    def test_partial_scenario_is_kept_as_sent(self, client):
        body = ok(client.post("/api/game_titles", {"title": "T", "scenario": {"hook": "h"}}), 201)
        assert body["scenario"] == {"hook": "h"}

    def test_get_and_list_shape(self, client):
        with_scenario = GameTitleFactory(scenario={"hook": "h", "role": "r", "mission": "m"})
        without = GameTitleFactory()
        body = ok(client.get("/api/game_titles"))
        assert isinstance(body, list)
        by_id = {item["id"]: item for item in body}
        title_shape(by_id[with_scenario.pk], scenario=True)
        title_shape(by_id[without.pk], scenario=False)
        assert ok(client.get(f"/api/game_titles/{without.pk}")) == by_id[without.pk]

    def test_list_newest_first(self, client):
        titles = [GameTitleFactory() for _ in range(3)]
        body = ok(client.get("/api/game_titles"))
        assert [item["id"] for item in body] == [t.pk for t in reversed(titles)]

    def test_empty_theme_does_not_filter(self, client):
        titles = [GameTitleFactory(genre=genre) for genre in ("a", "b")]
        body = ok(client.get("/api/game_titles", {"theme": ""}))
        assert {item["id"] for item in body} == {t.pk for t in titles}

    def test_theme_filters_genre_title_or_description(self, client):
        by_genre = GameTitleFactory(genre="Cyberpunk", title="A", description="")
        by_title = GameTitleFactory(genre="x", title="Cyberpunk city", description="")
        by_description = GameTitleFactory(genre="x", title="B", description="neon cyberpunk")
        GameTitleFactory(genre="fantasy", title="C", description="elves")
        body = ok(client.get("/api/game_titles", {"theme": "cyberPUNK"}))
        assert {item["id"] for item in body} == {by_genre.pk, by_title.pk, by_description.pk}
        assert ok(client.get("/api/game_titles", {"theme": "nothing-matches"})) == []

    @pytest.mark.parametrize(("limit", "expected"), [("1", 1), ("3", 3), ("100", 5)])
    def test_limit(self, client, limit, expected):
        for _ in range(5):
            GameTitleFactory()
        assert len(ok(client.get("/api/game_titles", {"limit": limit}))) == expected

    def test_default_limit_is_50(self, client):
        GameTitle.objects.bulk_create([GameTitle(title=f"T{i}") for i in range(55)])
        assert len(ok(client.get("/api/game_titles"))) == 50

    @pytest.mark.parametrize(
        ("query", "fragments"),
        [
            ({"limit": "0"}, ["limit", "1"]),
            ({"limit": "-5"}, ["limit"]),
            ({"limit": "101"}, ["limit", "100"]),
            ({"limit": "abc"}, ["limit", "integer"]),
            ({"limit": ""}, ["limit"]),
            ({"theme": "x" * 101}, ["theme", "100"]),
        ],
    )
    def test_bad_query_is_400(self, client, query, fragments):
        GameTitleFactory()
        assert_error(client.get("/api/game_titles", query), 400, *fragments)

    def test_patch(self, client):
        title = GameTitleFactory(title="Old", genre="g", scenario={"hook": "h"})
        body = ok(
            client.patch(
                f"/api/game_titles/{title.pk}",
                {"description": "new text", "scenario": {"role": "r", "mission": "m"}},
            )
        )
        title_shape(body, scenario=True)
        assert body["title"] == "Old" and body["genre"] == "g"
        assert body["description"] == "new text"
        assert body["scenario"] == {"role": "r", "mission": "m"}

    def test_patch_scenario_null_unsets_it(self, client):
        title = GameTitleFactory(scenario={"hook": "h"})
        body = ok(client.patch(f"/api/game_titles/{title.pk}", {"scenario": None}))
        title_shape(body, scenario=False)
        title.refresh_from_db()
        assert title.scenario is None

    def test_delete(self, client):
        title = GameTitleFactory()
        game = GameFactory(game_title=title)
        assert ok(client.delete(f"/api/game_titles/{title.pk}")) == {"ok": True}
        assert not GameTitle.objects.filter(pk=title.pk).exists()
        game.refresh_from_db()
        assert game.game_title_id is None
        assert_error(client.get(f"/api/game_titles/{title.pk}"), 404, "not found")
        assert_error(client.delete(f"/api/game_titles/{title.pk}"), 404, "not found")

    @pytest.mark.parametrize("title_id", ["999999", "abc", "0"])
    def test_unknown_is_404(self, client, title_id):
        GameTitleFactory()
        before = counts()
        assert_error(client.get(f"/api/game_titles/{title_id}"), 404, "not found")
        assert_error(client.patch(f"/api/game_titles/{title_id}", {"title": "x"}), 404)
        assert_error(client.delete(f"/api/game_titles/{title_id}"), 404, "not found")
        assert counts() == before


TITLE_BAD_INPUT = [
    ({"title": 5}, ["title", "string"]),
    ({"title": None}, ["title", "null"]),
    ({"title": ""}, ["title", "blank"]),
    ({"title": "x" * 201}, ["title", "200"]),
    ({"title": "T", "description": 1}, ["description", "string"]),
    ({"title": "T", "description": "x" * 10001}, ["description", "10000"]),
    ({"title": "T", "image": {"url": "x"}}, ["image", "string"]),
    ({"title": "T", "image": "x" * 2049}, ["image", "2048"]),
    ({"title": "T", "genre": False}, ["genre", "string"]),
    ({"title": "T", "genre": "x" * 101}, ["genre", "100"]),
    ({"title": "T", "scenario": "a hook"}, ["scenario", "object"]),
    ({"title": "T", "scenario": ["hook"]}, ["scenario"]),
    ({"title": "T", "scenario": {"hook": 1}}, ["scenario", "hook", "string"]),
    ({"title": "T", "scenario": {"villain": "x"}}, ["scenario", "villain", "hook"]),
    ({"title": "T", "scenario": {"mission": "x" * 4001}}, ["scenario", "mission", "4000"]),
]


class TestGameTitleValidation:
    def test_create_requires_title(self, client):
        before = counts()
        assert_error(client.post("/api/game_titles", {"genre": "g"}), 400, "title", "required")
        assert counts() == before

    @pytest.mark.parametrize(("payload", "fragments"), TITLE_BAD_INPUT)
    def test_create_bad_input_writes_nothing(self, client, payload, fragments):
        before = counts()
        assert_error(client.post("/api/game_titles", payload), 400, *fragments)
        assert counts() == before

    @pytest.mark.parametrize(("payload", "fragments"), TITLE_BAD_INPUT)
    def test_patch_bad_input_changes_nothing(self, client, payload, fragments):
        title = GameTitleFactory(title="Keep", scenario={"hook": "h"})
        snapshot = GameTitle.objects.filter(pk=title.pk).values().get()
        payload = {k: v for k, v in payload.items() if not (k == "title" and v == "T")}
        assert_error(client.patch(f"/api/game_titles/{title.pk}", payload), 400, *fragments)
        assert GameTitle.objects.filter(pk=title.pk).values().get() == snapshot


# --- /api/games/:gameId/title ------------------------------------------------------------------


class TestTitleOfGame:
    def test_post_creates_and_links(self, client):
        game = GameFactory()
        payload = {"title": "Linked", "scenario": {"hook": "h", "role": "r", "mission": "m"}}
        body = ok(client.post(f"/api/games/{game.pk}/title", payload), 201)
        title_shape(body, scenario=True)
        game.refresh_from_db()
        assert game.game_title_id == body["id"]
        assert ok(client.get(f"/api/games/{game.pk}/title")) == body
        assert ok(client.get(f"/api/game_titles/{body['id']}")) == body

    def test_post_creates_the_game_on_first_reference(self, client):
        assert not Game.objects.filter(pk=31337).exists()
        body = ok(client.post("/api/games/31337/title", {"title": "New world"}), 201)
        title_shape(body, scenario=False)
        assert Game.objects.get(pk=31337).game_title_id == body["id"]

    def test_post_when_already_linked_is_409_and_writes_nothing(self, client):
        game = GameFactory(game_title=GameTitleFactory(title="First"))
        before = counts()
        assert_error(
            client.post(f"/api/games/{game.pk}/title", {"title": "Second"}),
            409,
            "already has a title",
        )
        assert counts() == before
        game.refresh_from_db()
        assert game.game_title.title == "First"

    @pytest.mark.parametrize(("payload", "fragments"), TITLE_BAD_INPUT)
    def test_post_bad_input_writes_nothing(self, client, payload, fragments):
        before = counts()
        assert_error(client.post("/api/games/555/title", payload), 400, *fragments)
        assert counts() == before

    def test_post_missing_title_writes_nothing(self, client):
        before = counts()
        assert_error(client.post("/api/games/555/title", {}), 400, "title", "required")
        assert counts() == before

    def test_patch(self, client):
        game = GameFactory(game_title=GameTitleFactory(title="Old", genre="g"))
        body = ok(client.patch(f"/api/games/{game.pk}/title", {"title": "Renamed"}))
        title_shape(body, scenario=False)
        assert body["title"] == "Renamed" and body["genre"] == "g"
        assert body["id"] == game.game_title_id
        assert GameTitle.objects.get(pk=game.game_title_id).title == "Renamed"

    def test_delete_deletes_an_unshared_title(self, client):
        title = GameTitleFactory()
        game = GameFactory(game_title=title)
        assert ok(client.delete(f"/api/games/{game.pk}/title")) == {"ok": True}
        assert not GameTitle.objects.filter(pk=title.pk).exists()
        assert Game.objects.filter(pk=game.pk).exists()
        assert_error(client.get(f"/api/games/{game.pk}/title"), 404, "no title")

    def test_delete_only_unlinks_a_shared_title(self, client):
        title = GameTitleFactory()
        game, other = GameFactory(game_title=title), GameFactory(game_title=title)
        assert ok(client.delete(f"/api/games/{game.pk}/title")) == {"ok": True}
        assert GameTitle.objects.filter(pk=title.pk).exists()
        game.refresh_from_db()
        other.refresh_from_db()
        assert game.game_title_id is None and other.game_title_id == title.pk

    def test_game_without_title_is_404(self, client):
        game = GameFactory()
        before = counts()
        assert_error(client.get(f"/api/games/{game.pk}/title"), 404, "no title")
        assert_error(client.patch(f"/api/games/{game.pk}/title", {"title": "x"}), 404)
        assert_error(client.delete(f"/api/games/{game.pk}/title"), 404, "no title")
        assert counts() == before

    @pytest.mark.parametrize("game_id", ["999999", "abc", "0"])
    def test_unknown_game_is_404_and_writes_nothing(self, client, game_id):
        before = counts()
        assert_error(client.get(f"/api/games/{game_id}/title"), 404, "not found")
        assert_error(client.patch(f"/api/games/{game_id}/title", {"title": "x"}), 404)
        assert_error(client.delete(f"/api/games/{game_id}/title"), 404, "not found")
        assert counts() == before

    def test_non_numeric_game_post_is_404_and_writes_nothing(self, client):
        before = counts()
        assert_error(client.post("/api/games/abc/title", {"title": "x"}), 404, "not found")
        assert counts() == before

    @pytest.mark.parametrize(("payload", "fragments"), TITLE_BAD_INPUT)
    def test_patch_bad_input_changes_nothing(self, client, payload, fragments):
        game = GameFactory(game_title=GameTitleFactory(title="Keep"))
        snapshot = GameTitle.objects.filter(pk=game.game_title_id).values().get()
        payload = {k: v for k, v in payload.items() if not (k == "title" and v == "T")}
        assert_error(client.patch(f"/api/games/{game.pk}/title", payload), 400, *fragments)
        assert GameTitle.objects.filter(pk=game.game_title_id).values().get() == snapshot


# --- Progress ----------------------------------------------------------------------------------


class TestProgress:
    def test_get_shape_of_a_new_session(self, client, session):
        body = ok(client.get(f"/api/progress/{session.pk}"))
        assert body == {
            "sessionId": str(session.pk),
            "chapter": 1,
            "step": 0,
            "checkpoints": [],
        }

    def test_patch_and_get(self, client, session):
        message = message_for(session)
        body = ok(
            client.patch(
                f"/api/progress/{session.pk}",
                {
                    "chapter": 2,
                    "step": 5,
                    "checkpoints": [{"key": "door", "value": {"open": True}}, {"key": "gold"}],
                    "lastMessageId": str(message.pk),
                },
            )
        )
        assert set(body) == PROGRESS_KEYS | {"lastMessageId"}
        assert body["sessionId"] == str(session.pk)
        assert (body["chapter"], body["step"], body["lastMessageId"]) == (2, 5, message.pk)
        for checkpoint in body["checkpoints"]:
            assert set(checkpoint) == CHECKPOINT_KEYS and is_iso_utc(checkpoint["at"])
        values = {c["key"]: c["value"] for c in body["checkpoints"]}
        assert values == {"door": {"open": True}, "gold": None}
        assert ok(client.get(f"/api/progress/{session.pk}")) == body

    def test_patch_is_partial(self, client, session):
        ok(client.patch(f"/api/progress/{session.pk}", {"chapter": 3}))
        body = ok(client.patch(f"/api/progress/{session.pk}", {"step": 9}))
        assert (body["chapter"], body["step"]) == (3, 9)
        assert "lastMessageId" not in body

    def test_checkpoints_upsert_by_key(self, client, session):
        ok(client.patch(f"/api/progress/{session.pk}", {"checkpoints": [{"key": "k", "value": 1}]}))
        body = ok(
            client.patch(
                f"/api/progress/{session.pk}",
                {"checkpoints": [{"key": "k", "value": 2}, {"key": "j", "value": "x"}]},
            )
        )
        assert sorted((c["key"], c["value"]) for c in body["checkpoints"]) == [
            ("j", "x"),
            ("k", 2),
        ]
        assert Checkpoint.objects.filter(progress__session=session).count() == 2

    def test_same_key_twice_in_one_patch_keeps_the_last(self, client, session):
        body = ok(
            client.patch(
                f"/api/progress/{session.pk}",
                {"checkpoints": [{"key": "k", "value": 1}, {"key": "k", "value": 2}]},
            )
        )
        assert [(c["key"], c["value"]) for c in body["checkpoints"]] == [("k", 2)]

    def test_last_message_id_can_be_cleared(self, client, session):
        message = message_for(session)
        ok(client.patch(f"/api/progress/{session.pk}", {"lastMessageId": message.pk}))
        body = ok(client.patch(f"/api/progress/{session.pk}", {"lastMessageId": None}))
        assert "lastMessageId" not in body
        assert Progress.objects.get(session=session).last_message_id is None

    def test_last_message_id_of_another_session_is_400(self, client, session):
        other = message_for(GameSessionFactory(game=session.game))
        snapshot = Progress.objects.filter(session=session).values().get()
        assert_error(
            client.patch(
                f"/api/progress/{session.pk}",
                {"chapter": 4, "lastMessageId": other.pk, "checkpoints": [{"key": "k"}]},
            ),
            400,
            "lastMessageId",
            str(other.pk),
        )
        assert Progress.objects.filter(session=session).values().get() == snapshot
        assert not Checkpoint.objects.exists()

    @pytest.mark.parametrize(
        ("payload", "fragments"),
        [
            ({}, ["nothing to update"]),
            ({"chapter": "2"}, ["chapter", "integer"]),
            ({"chapter": 2.5}, ["chapter", "integer"]),
            ({"chapter": True}, ["chapter", "integer"]),
            ({"chapter": None}, ["chapter", "null"]),
            ({"chapter": 0}, ["chapter", "1"]),
            ({"chapter": -1}, ["chapter"]),
            ({"chapter": 100001}, ["chapter", "100000"]),
            ({"step": "0"}, ["step", "integer"]),
            ({"step": -1}, ["step", "0"]),
            ({"step": 1000001}, ["step", "1000000"]),
            ({"checkpoints": "k"}, ["checkpoints", "list"]),
            ({"checkpoints": {"key": "k"}}, ["checkpoints", "list"]),
            ({"checkpoints": [{"value": 1}]}, ["checkpoints", "key", "required"]),
            ({"checkpoints": [{"key": 5}]}, ["checkpoints", "key", "string"]),
            ({"checkpoints": [{"key": ""}]}, ["checkpoints", "key", "blank"]),
            ({"checkpoints": [{"key": "x" * 201}]}, ["checkpoints", "key", "200"]),
            ({"checkpoints": ["k"]}, ["checkpoints"]),
            ({"checkpoints": [{"key": "k", "value": "x" * LIMIT}]}, ["value", "larger"]),
            ({"checkpoints": [{"key": f"k{i}"} for i in range(101)]}, ["checkpoints", "100"]),
            ({"step": 1, "checkpoints": [{"key": "ok"}, {"value": 1}]}, ["checkpoints", "key"]),
            ({"lastMessageId": "abc"}, ["lastMessageId"]),
            ({"lastMessageId": 0}, ["lastMessageId"]),
            ({"lastMessageId": -4}, ["lastMessageId"]),
            ({"lastMessageId": 987654}, ["lastMessageId", "987654"]),
        ],
    )
    def test_patch_bad_input_changes_nothing(self, client, session, payload, fragments):
        snapshot = Progress.objects.filter(session=session).values().get()
        before = counts()
        assert_error(client.patch(f"/api/progress/{session.pk}", payload), 400, *fragments)
        assert Progress.objects.filter(session=session).values().get() == snapshot
        assert counts() == before

    @pytest.mark.parametrize("session_id", ["nope", str(uuid.uuid4())])
    def test_unknown_session_is_404(self, client, session_id):
        before = counts()
        assert_error(client.get(f"/api/progress/{session_id}"), 404, "not found")
        assert_error(client.patch(f"/api/progress/{session_id}", {"chapter": 2}), 404)
        assert_error(
            client.post(f"/api/progress/{session_id}/checkpoints", {"key": "k"}), 404, "not found"
        )
        assert counts() == before

    def test_owned_session_only_by_owner(self, auth_client, other_auth_client, client):
        session_id = start_session(auth_client)["sessionId"]
        url = f"/api/progress/{session_id}"
        assert_error(other_auth_client.patch(url, {"chapter": 2}), 403, "another user")
        assert_error(client.patch(url, {"chapter": 2}), 401)
        assert_error(other_auth_client.post(f"{url}/checkpoints", {"key": "k"}), 403)
        assert Progress.objects.get(session_id=session_id).chapter == 1
        assert not Checkpoint.objects.exists()
        assert ok(auth_client.patch(url, {"chapter": 2}))["chapter"] == 2


class TestCheckpointCreate:
    def test_creates(self, client, session):
        body = ok(
            client.post(
                f"/api/progress/{session.pk}/checkpoints", {"key": "met_king", "value": [1, "a"]}
            ),
            201,
        )
        assert set(body) == CHECKPOINT_KEYS
        assert body["key"] == "met_king" and body["value"] == [1, "a"]
        assert is_iso_utc(body["at"])
        progress = ok(client.get(f"/api/progress/{session.pk}"))
        assert progress["checkpoints"] == [body]

    def test_value_is_optional(self, client, session):
        body = ok(client.post(f"/api/progress/{session.pk}/checkpoints", {"key": "k"}), 201)
        assert body["value"] is None

    def test_same_key_replaces(self, client, session):
        url = f"/api/progress/{session.pk}/checkpoints"
        ok(client.post(url, {"key": "k", "value": 1}), 201)
        body = ok(client.post(url, {"key": "k", "value": 2}), 201)
        assert body["value"] == 2
        assert Checkpoint.objects.filter(progress__session=session).count() == 1
        assert ok(client.get(f"/api/progress/{session.pk}"))["checkpoints"] == [body]

    @pytest.mark.parametrize(
        ("payload", "fragments"),
        [
            ({}, ["key", "required"]),
            ({"value": 1}, ["key", "required"]),
            ({"key": 5}, ["key", "string"]),
            ({"key": None}, ["key", "null"]),
            ({"key": ""}, ["key", "blank"]),
            ({"key": "x" * 201}, ["key", "200"]),
            ({"key": "k", "value": "x" * LIMIT}, ["value", "larger"]),
        ],
    )
    def test_bad_input_writes_nothing(self, client, session, payload, fragments):
        before = counts()
        assert_error(
            client.post(f"/api/progress/{session.pk}/checkpoints", payload), 400, *fragments
        )
        assert counts() == before


# --- Messages ----------------------------------------------------------------------------------


class TestMessageCreate:
    def test_creates(self, client, session):
        before = Message.objects.count()
        body = ok(post_message(client, session, "Hello there", role="assistant"), 201)
        assert set(body) == {"id"} and isinstance(body["id"], int)
        stored = Message.objects.get(pk=body["id"])
        assert Message.objects.count() == before + 1
        assert (stored.session_id, stored.game_id) == (session.pk, session.game_id)
        assert (stored.role, stored.content, stored.type) == ("assistant", "Hello there", "")
        assert stored.sequence_number == 1

    @pytest.mark.parametrize("role", ["system", "assistant", "user"])
    @pytest.mark.parametrize("kind", ["chat", "dice", "combat"])
    def test_roles_and_types(self, client, session, role, kind):
        body = ok(post_message(client, session, "x", role=role, type=kind), 201)
        [item] = ok(client.get("/api/messages", {"sessionId": str(session.pk)}))
        assert item["id"] == body["id"]
        assert (item["role"], item["type"]) == (role, kind)

    def test_content_keeps_whitespace(self, client, session):
        body = ok(post_message(client, session, "  spaced\n"), 201)
        assert Message.objects.get(pk=body["id"]).content == "  spaced\n"

    def test_content_at_the_limit_is_accepted(self, client, session):
        ok(post_message(client, session, "x" * LIMIT), 201)
        # 2-byte characters: 16,384 of them are exactly 32 KiB
        ok(post_message(client, session, "é" * (LIMIT // 2)), 201)
        assert Message.objects.count() == 2

    @pytest.mark.parametrize("content", ["x" * (LIMIT + 1), "é" * (LIMIT // 2 + 1), "😀" * 8193])
    def test_content_over_32_kib_is_413_and_writes_nothing(self, client, session, content):
        before = counts()
        assert_error(post_message(client, session, content), 413, "bytes", str(LIMIT))
        assert counts() == before
        assert Game.objects.get(pk=session.game_id).last_sequence_number == 0

    def test_ended_session_is_409_and_writes_nothing(self, client, session):
        message_for(session)
        ok(client.post("/api/session/end", {"sessionId": str(session.pk)}))
        before = counts()
        assert_error(post_message(client, session), 409, "ended")
        assert counts() == before
        assert Game.objects.get(pk=session.game_id).last_sequence_number == 1

    @pytest.mark.parametrize(
        ("payload", "status", "fragments"),
        [
            ({"role": "user", "content": "x"}, 400, ["sessionId", "required"]),
            ({"sessionId": "S", "content": "x"}, 400, ["role", "required"]),
            ({"sessionId": "S", "role": "user"}, 400, ["content", "required"]),
            ({"sessionId": 5, "role": "user", "content": "x"}, 400, ["sessionId", "string"]),
            ({"sessionId": "S", "role": "wizard", "content": "x"}, 400, ["role", "wizard"]),
            ({"sessionId": "S", "role": "USER", "content": "x"}, 400, ["role"]),
            ({"sessionId": "S", "role": 1, "content": "x"}, 400, ["role"]),
            ({"sessionId": "S", "role": None, "content": "x"}, 400, ["role", "null"]),
            ({"sessionId": "S", "role": "user", "content": 12}, 400, ["content", "string"]),
            ({"sessionId": "S", "role": "user", "content": None}, 400, ["content", "null"]),
            ({"sessionId": "S", "role": "user", "content": ""}, 400, ["content", "blank"]),
            ({"sessionId": "S", "role": "user", "content": ["x"]}, 400, ["content", "string"]),
            (
                {"sessionId": "S", "role": "user", "content": "x", "type": "magic"},
                400,
                ["type", "magic"],
            ),
            ({"sessionId": "S", "role": "user", "content": "x", "type": None}, 400, ["type"]),
            ({"sessionId": "S", "role": "user", "content": "x", "type": 1}, 400, ["type"]),
            ({"sessionId": "nope", "role": "user", "content": "x"}, 404, ["not found"]),
            ({"sessionId": "UNKNOWN", "role": "user", "content": "x"}, 404, ["not found"]),
        ],
    )
    def test_bad_input_writes_nothing(self, client, session, payload, status, fragments):
        replace = {"S": str(session.pk), "UNKNOWN": str(uuid.uuid4())}
        payload = {
            k: (replace.get(v, v) if k == "sessionId" and isinstance(v, str) else v)
            for k, v in payload.items()
        }
        before = counts()
        assert_error(client.post("/api/messages", payload), status, *fragments)
        assert counts() == before

    def test_owned_session_only_by_owner(self, auth_client, other_auth_client, client):
        session_id = start_session(auth_client)["sessionId"]
        assert_error(post_message(other_auth_client, session_id), 403, "another user")
        assert_error(post_message(client, session_id), 401, "token")
        assert not Message.objects.exists()
        ok(post_message(auth_client, session_id), 201)


class TestMessageList:
    def test_shape_and_id_order(self, client, session):
        first = message_for(session, "system", "Welcome")
        ok(post_message(client, session, "roll", role="user", type="dice"), 201)
        third = message_for(session, "assistant", "A goblin!")
        message_for(GameSessionFactory(game=session.game), "user", "other session")

        body = ok(client.get("/api/messages", {"sessionId": str(session.pk)}))

        assert [m["id"] for m in body] == sorted(m["id"] for m in body)
        assert [m["content"] for m in body] == ["Welcome", "roll", "A goblin!"]
        assert body[0]["id"] == first.pk and body[2]["id"] == third.pk
        assert set(body[0]) == MESSAGE_KEYS  # no type stored: the key is omitted
        assert set(body[1]) == MESSAGE_KEYS | {"type"} and body[1]["type"] == "dice"
        assert [m["role"] for m in body] == ["system", "user", "assistant"]
        assert all(is_iso_utc(m["createdAt"]) for m in body)

    def test_after_id(self, client, session):
        ids = [message_for(session, content=f"m{i}").pk for i in range(4)]
        query = {"sessionId": str(session.pk)}
        after = ok(client.get("/api/messages", {**query, "afterId": str(ids[1])}))
        assert [m["id"] for m in after] == ids[2:]
        assert ok(client.get("/api/messages", {**query, "afterId": ids[-1]})) == []
        assert [m["id"] for m in ok(client.get("/api/messages", {**query, "afterId": "0"}))] == ids

    def test_empty_session(self, client, session):
        assert ok(client.get("/api/messages", {"sessionId": str(session.pk)})) == []

    def test_ended_session_is_still_readable(self, client, session):
        message_for(session)
        end_session(session)
        assert len(ok(client.get("/api/messages", {"sessionId": str(session.pk)}))) == 1

    @pytest.mark.parametrize(
        ("query", "status", "fragments"),
        [
            ({}, 400, ["sessionId", "required"]),
            ({"afterId": "1"}, 400, ["sessionId", "required"]),
            ({"sessionId": ""}, 400, ["sessionId"]),
            ({"sessionId": "nope"}, 404, ["not found"]),
            ({"sessionId": "UNKNOWN"}, 404, ["not found"]),
            ({"sessionId": "S", "afterId": "abc"}, 400, ["afterId"]),
            ({"sessionId": "S", "afterId": "1.5"}, 400, ["afterId"]),
            ({"sessionId": "S", "afterId": "-1"}, 400, ["afterId"]),
            ({"sessionId": "S", "afterId": ""}, 400, ["afterId"]),
        ],
    )
    def test_bad_query(self, client, session, query, status, fragments):
        replace = {"S": str(session.pk), "UNKNOWN": str(uuid.uuid4())}
        query = {k: replace.get(v, v) for k, v in query.items()}
        assert_error(client.get("/api/messages", query), status, *fragments)


# --- History -----------------------------------------------------------------------------------


class TestHistory:
    def test_shape_and_order_across_sessions(self, client, session):
        other = GameSessionFactory(game=session.game)
        message_for(session, "system", "one")
        ok(post_message(client, other, "two"), 201)
        message_for(session, "assistant", "three")
        image = GameImage.objects.create(
            session=other, prompt="a map", mime="image/png", width=1, height=1, data=b"png"
        )
        with transaction.atomic():
            locked = services.session_get_active_for_update(session_id=str(other.pk), actor=None)
            services.message_append(session=locked, role="assistant", content="a map", image=image)
        message_for(GameSessionFactory(), "user", "another game")

        body = ok(client.get(f"/api/history/{session.game_id}"))

        assert set(body) == HISTORY_KEYS
        assert body["success"] is True and body["source"] == "database"
        assert body["total"] == 4 == len(body["data"])
        for item in body["data"]:
            assert set(item) == HISTORY_ITEM_KEYS
            assert item["game_id"] == session.game_id
            assert is_iso_utc(item["timestamp"])
        assert [i["sequence_number"] for i in body["data"]] == [1, 2, 3, 4]
        assert [i["content"] for i in body["data"]] == ["one", "two", "three", "a map"]
        assert [i["role"] for i in body["data"]] == ["system", "user", "assistant", "assistant"]
        assert [i["image_url"] for i in body["data"][:3]] == [None, None, None]
        image_url = body["data"][3]["image_url"]
        assert isinstance(image_url, str) and image_url.endswith(f"/{image.pk}")

    def test_numbering_is_per_game(self, client):
        a, b = GameSessionFactory(), GameSessionFactory()
        for i in range(3):
            message_for(a, content=f"a{i}")
            message_for(b, content=f"b{i}")
        message_for(a, content="a3")
        for game_id, expected in ((a.game_id, [1, 2, 3, 4]), (b.game_id, [1, 2, 3])):
            body = ok(client.get(f"/api/history/{game_id}"))
            assert [i["sequence_number"] for i in body["data"]] == expected
            assert body["total"] == len(expected)

    def test_refused_message_leaves_no_gap(self, client, session):
        ok(post_message(client, session, "first"), 201)
        assert_error(post_message(client, session, "x" * (LIMIT + 1)), 413)
        assert_error(post_message(client, session, "bad", type="magic"), 400)
        ok(post_message(client, session, "second"), 201)
        body = ok(client.get(f"/api/history/{session.game_id}"))
        assert [i["sequence_number"] for i in body["data"]] == [1, 2]

    def test_game_without_messages(self, client):
        game = GameFactory()
        body = ok(client.get(f"/api/history/{game.pk}"))
        assert body == {"success": True, "data": [], "total": 0, "source": "database"}

    @pytest.mark.parametrize("game_id", ["999999", "abc", "0", "-2"])
    def test_unknown_or_non_numeric_game_is_404(self, client, game_id):
        assert_error(client.get(f"/api/history/{game_id}"), 404, "not found")


# --- Bodies that are not JSON objects, on every write route ---------------------------------------


@pytest.fixture
def world():
    session = GameSessionFactory()
    session.game.game_title = GameTitleFactory()
    session.game.save()
    return {
        "session": session,
        "catalogue_title": GameTitleFactory(),
    }


WRITE_ROUTES = [
    ("post", lambda w: "/api/session/start"),
    ("post", lambda w: "/api/session/end"),
    ("patch", lambda w: f"/api/games/{w['session'].game_id}"),
    ("post", lambda w: "/api/game_titles"),
    ("patch", lambda w: f"/api/game_titles/{w['catalogue_title'].pk}"),
    ("post", lambda w: "/api/games/8080/title"),
    ("patch", lambda w: f"/api/games/{w['session'].game_id}/title"),
    ("patch", lambda w: f"/api/progress/{w['session'].pk}"),
    ("post", lambda w: f"/api/progress/{w['session'].pk}/checkpoints"),
    ("post", lambda w: "/api/messages"),
]
ROUTE_IDS = [
    "session-start",
    "session-end",
    "game-patch",
    "title-create",
    "title-patch",
    "game-title-create",
    "game-title-patch",
    "progress-patch",
    "checkpoint-create",
    "message-create",
]


def snapshot_all() -> dict:
    return {
        model.__name__: sorted(model.objects.values_list("pk", flat=True))
        for model in (Game, GameTitle, GameSession, Progress, Checkpoint, Message)
    } | {
        "titles": list(GameTitle.objects.order_by("pk").values("title", "updated_at")),
        "games": list(Game.objects.order_by("pk").values("title", "updated_at", "game_title")),
        "progress": list(Progress.objects.values("chapter", "step", "updated_at")),
        "sessions": list(GameSession.objects.values("status")),
    }


@pytest.mark.parametrize(("method", "path"), WRITE_ROUTES, ids=ROUTE_IDS)
class TestNonObjectBodies:
    def test_malformed_json_is_400(self, client, world, method, path):
        before = snapshot_all()
        response = getattr(client, method)(
            path(world), data="{bad", content_type="application/json"
        )
        assert_error(response, 400, "malformed", "json")
        assert snapshot_all() == before

    @pytest.mark.parametrize(
        ("content_type", "data"),
        [
            ("text/plain", '{"title": "x"}'),
            ("application/x-www-form-urlencoded", "title=x&sessionId=y"),
            ("application/xml", "<title>x</title>"),
        ],
    )
    def test_non_json_content_type_is_415(self, client, world, method, path, content_type, data):
        before = snapshot_all()
        response = getattr(client, method)(path(world), data=data, content_type=content_type)
        assert_error(response, 415, "unsupported media type", content_type)
        assert snapshot_all() == before

    @pytest.mark.parametrize(
        ("raw", "fragments"),
        [
            ("[1, 2]", ["expected a dictionary", "list"]),
            ('"text"', ["expected a dictionary", "str"]),
            ("42", ["expected a dictionary", "int"]),
            ("null", ["no data provided"]),
        ],
    )
    def test_json_that_is_not_an_object_is_400(self, client, world, method, path, raw, fragments):
        before = snapshot_all()
        response = getattr(client, method)(path(world), data=raw, content_type="application/json")
        assert_error(response, 400, *fragments)
        assert snapshot_all() == before


def test_empty_body_on_create_routes_names_required_fields(client, world):
    before = snapshot_all()
    assert_error(client.post("/api/session/start", {}), 400, "gameId", "characterId", "required")
    assert_error(client.post("/api/messages", {}), 400, "sessionId", "role", "content")
    assert_error(client.post("/api/game_titles", {}), 400, "title", "required")
    assert snapshot_all() == before


def test_body_over_the_upload_limit_is_413(client, session, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    payload = json.dumps({"sessionId": str(session.pk), "role": "user", "content": "x" * 70000})
    before = counts()
    response = client.post("/api/messages", data=payload, content_type="application/json")
    assert_error(response, 413, "too large")
    assert counts() == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", "/api/session/start"),
        ("get", "/api/session/end"),
        ("delete", "/api/games/1"),
        ("put", "/api/game_titles"),
        ("post", "/api/game_titles/1"),
        ("put", "/api/games/1/title"),
        ("delete", "/api/progress/S"),
        ("get", "/api/progress/S/checkpoints"),
        ("delete", "/api/messages"),
        ("post", "/api/history/1"),
    ],
)
def test_wrong_method_is_405_in_the_error_body(client, session, method, path):
    path = path.replace("S", str(session.pk))
    before = counts()
    response = getattr(client, method)(path)
    assert_error(response, 405, method.upper())
    assert counts() == before


def test_unknown_route_under_api_gets_the_game_error_body(client):
    assert_error(client.get("/api/no-such-thing"), 404, "not found")
    assert_error(client.get("/api/session"), 404, "not found")


# --- Query counts ------------------------------------------------------------------------------


def _populate(n: int):
    title = GameTitleFactory(scenario={"hook": "h"})
    session = GameSessionFactory(game=GameFactory(game_title=title, title=""))
    other = GameSessionFactory(game=session.game)
    for i in range(n):
        GameTitleFactory()
        message_for(session, content=f"m{i}")
        message_for(other, content=f"o{i}")
        services.checkpoint_add(session_id=str(session.pk), key=f"k{i}", value=i, actor=None)
    return session


@pytest.mark.parametrize("rows", [3, 10])
class TestQueryCounts:
    """Anonymous callers (a token adds one user lookup); the numbers do not grow with rows."""

    def test_game_titles_list(self, client, django_assert_num_queries, rows):
        _populate(rows)
        with django_assert_num_queries(1):
            body = ok(client.get("/api/game_titles", {"limit": "100"}))
        assert len(body) == rows + 1

    def test_messages_list(self, client, django_assert_num_queries, rows):
        session = _populate(rows)
        with django_assert_num_queries(2):
            body = ok(client.get("/api/messages", {"sessionId": str(session.pk)}))
        assert len(body) == rows

    def test_history(self, client, django_assert_num_queries, rows):
        session = _populate(rows)
        with django_assert_num_queries(2):
            body = ok(client.get(f"/api/history/{session.game_id}"))
        assert body["total"] == 2 * rows

    def test_progress_get(self, client, django_assert_num_queries, rows):
        session = _populate(rows)
        with django_assert_num_queries(2):
            body = ok(client.get(f"/api/progress/{session.pk}"))
        assert len(body["checkpoints"]) == rows

    def test_game_get(self, client, django_assert_num_queries, rows):
        session = _populate(rows)
        with django_assert_num_queries(1):
            body = ok(client.get(f"/api/games/{session.game_id}"))
        assert body["title"] == session.game.game_title.title
