"""Family G's ownership rule (games/access.py, CONTRACTS.md "Identity, users and ownership").

With GAME_REQUIRE_AUTH on, a user's sessions (their messages, progress, history, images and AI
turns) and characters exist only for that user: anyone else gets the 404 an unknown id gets,
in G's `{"error": ...}` body, and nothing is written. Games are changed only by their owner (the
user whose request created them) or staff, the title catalogue only by staff. With the setting
off, a token still protects what it created: a game is changed only by its owner (403/401), as
sessions and characters already are. `/api/ai/diagnostics` is staff only outside the embedded
mode (in the production shape: a database or Redis URL, or HTTPS, set).
"""

from __future__ import annotations

import uuid

import pytest

from accounts.services import tokens_for_user
from characters.models import Character
from chats.models import Chat
from games.models import Checkpoint, Game, GameImage, GameSession, GameTitle, Message, Progress
from tests.conftest import JsonClient
from tests.factories import (
    CharacterFactory,
    GameFactory,
    GameSessionFactory,
    GameTitleFactory,
    UserFactory,
)
from tests.helpers import game_error as assert_error
from tests.helpers import json_body as ok

# The AI views are async and reach the database through other threads, which need committed
# rows: each test runs outside a wrapping transaction (as tests/contracts/test_game_ai.py).
pytestmark = pytest.mark.django_db(transaction=True)

SCENARIO = "/api/ai/generate-scenario"
DIALOGUE = "/api/ai/dialogue"
IMAGE = "/api/ai/image"


# --- helpers -----------------------------------------------------------------------------------


def client_for(user) -> JsonClient:
    c = JsonClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(user=user).access}")
    return c


@pytest.fixture
def staff_client(db) -> JsonClient:
    return client_for(UserFactory(is_staff=True))


@pytest.fixture
def third_client(db) -> JsonClient:
    return client_for(UserFactory())


@pytest.fixture
def private(settings):
    settings.GAME_REQUIRE_AUTH = True


def start(c, game_id: int = 4600) -> str:
    """A session started by `c` with a character of its own, in `game_id`."""
    character = ok(c.post(f"/api/games/{game_id}/characters", {"name": "Hero", "class": "x"}), 201)
    started = ok(
        c.post("/api/session/start", {"gameId": game_id, "characterId": character["id"]}), 201
    )
    return started["sessionId"]


def snapshot() -> dict:
    return {
        model.__name__: sorted(model.objects.values_list("pk", flat=True))
        for model in (Game, GameTitle, GameSession, Progress, Checkpoint, Message, GameImage)
    } | {
        "sessions": list(GameSession.objects.order_by("pk").values_list("status", flat=True)),
        "progress": list(Progress.objects.order_by("pk").values_list("chapter", "step")),
        "games": list(Game.objects.order_by("pk").values("title", "metadata", "game_title_id")),
        "titles": list(GameTitle.objects.order_by("pk").values("title", "description")),
        "characters": list(Character.objects.order_by("pk").values("name", "level")),
    }


def unknown_session_error(c, method: str, path: str, body=None) -> str:
    """The message an unknown session id gets on the same route (a fresh UUID)."""
    return assert_error(c.generic(method, path, body), 404)


def session_routes(sid: str) -> list[tuple[str, str, dict | None]]:
    return [
        ("GET", f"/api/session/{sid}", None),
        ("GET", f"/api/messages?sessionId={sid}", None),
        ("POST", "/api/messages", {"sessionId": sid, "role": "user", "content": "hi"}),
        ("GET", f"/api/progress/{sid}", None),
        ("PATCH", f"/api/progress/{sid}", {"chapter": 5}),
        ("POST", f"/api/progress/{sid}/checkpoints", {"key": "door", "value": "open"}),
        ("POST", "/api/session/end", {"sessionId": sid}),
        ("POST", SCENARIO, {"sessionId": sid, "templateTitle": "Stolen Tale"}),
        ("POST", DIALOGUE, {"sessionId": sid, "history": [{"role": "user", "content": "hi"}]}),
        ("POST", IMAGE, {"sessionId": sid, "prompt": "a door"}),
    ]


# --- Sessions, messages, progress and AI turns, GAME_REQUIRE_AUTH on -------------------------


@pytest.mark.usefixtures("private")
class TestPrivateSessions:
    def test_another_user_gets_404_as_for_an_unknown_session(self, auth_client, other_auth_client):
        sid = start(auth_client)
        ok(
            auth_client.post("/api/messages", {"sessionId": sid, "role": "user", "content": "a"}),
            201,
        )
        before = snapshot()
        for method, path, body in session_routes(sid):
            message = assert_error(other_auth_client.generic(method, path, body), 404, "not found")
            ghost = str(uuid.uuid4())
            expected = unknown_session_error(
                other_auth_client,
                method,
                path.replace(sid, ghost),
                {**body, "sessionId": ghost} if body and "sessionId" in body else body,
            )
            assert message == expected.replace(ghost, sid), (method, path)
        assert snapshot() == before

    def test_the_owner_uses_every_route(self, auth_client):
        sid = start(auth_client)
        statuses = [
            auth_client.generic(method, path, body).status_code
            for method, path, body in session_routes(sid)
        ]
        assert statuses == [200, 200, 201, 200, 200, 201, 200, 409, 409, 409]
        assert GameSession.objects.get(pk=sid).status == "ended"

    def test_the_owners_ai_turns_run(self, auth_client):
        sid = start(auth_client)
        ok(auth_client.post(SCENARIO, {"sessionId": sid, "templateTitle": "Own Tale"}))
        ok(
            auth_client.post(
                DIALOGUE, {"sessionId": sid, "history": [{"role": "user", "content": "go"}]}
            )
        )
        ok(auth_client.post(IMAGE, {"sessionId": sid, "prompt": "a door"}))
        assert Message.objects.filter(session_id=sid).count() == 4

    def test_a_busy_server_does_not_tell_another_user_the_session_exists(
        self, auth_client, other_auth_client, settings
    ):
        sid = start(auth_client)
        settings.AI_TURNS_MAX_CONCURRENT = 0
        body = {"sessionId": sid, "history": [{"role": "user", "content": "hi"}]}
        assert_error(other_auth_client.post(DIALOGUE, body), 404, "not found")
        assert auth_client.post(DIALOGUE, body).status_code == 503

    def test_images_are_the_owners_and_kept_by_no_shared_cache(
        self, auth_client, other_auth_client
    ):
        sid = start(auth_client)
        image_id = ok(auth_client.post(IMAGE, {"sessionId": sid, "prompt": "a door"}))["id"]
        response = auth_client.get(f"/api/ai/images/{image_id}")
        assert response.status_code == 200
        assert response["Cache-Control"].startswith("private,")
        assert_error(other_auth_client.get(f"/api/ai/images/{image_id}"), 404, "not found")

    def test_a_session_without_an_owner_stays_open_as_on_the_socket(self, other_auth_client):
        session = GameSessionFactory()
        assert session.owner_id is None
        sid = str(session.pk)
        assert ok(other_auth_client.get(f"/api/session/{sid}"))["sessionId"] == sid
        ok(
            other_auth_client.post(
                "/api/messages", {"sessionId": sid, "role": "user", "content": "x"}
            ),
            201,
        )

    def test_another_users_character_cannot_start_a_session(self, auth_client, other_auth_client):
        cid = ok(
            auth_client.post("/api/games/4601/characters", {"name": "Mine", "class": "x"}), 201
        )["id"]
        before = snapshot()
        response = other_auth_client.post(
            "/api/session/start", {"gameId": 4601, "characterId": cid}
        )
        assert_error(response, 400, f"character {cid} not found")
        assert snapshot() == before


# --- History, GAME_REQUIRE_AUTH on ---------------------------------------------------------------


@pytest.mark.usefixtures("private")
class TestPrivateHistory:
    def test_each_user_reads_only_their_own_sessions(
        self, auth_client, other_auth_client, third_client
    ):
        mine, theirs = start(auth_client, 4700), start(other_auth_client, 4700)
        for sid, text in ((mine, "mine 1"), (theirs, "theirs 1"), (mine, "mine 2")):
            post = {"sessionId": sid, "role": "user", "content": text}
            ok(
                auth_client.post("/api/messages", post)
                if sid == mine
                else other_auth_client.post("/api/messages", post),
                201,
            )
        body = ok(auth_client.get("/api/history/4700"))
        assert [row["content"] for row in body["data"]] == ["mine 1", "mine 2"]
        assert [row["sequence_number"] for row in body["data"]] == [1, 3]
        assert body["success"] is True and body["total"] == 2
        body = ok(other_auth_client.get("/api/history/4700"))
        assert [row["content"] for row in body["data"]] == ["theirs 1"]
        # A user with no session in the game sees an empty history; an unknown game is 404.
        body = ok(third_client.get("/api/history/4700"))
        assert body["data"] == [] and body["total"] == 0 and body["success"] is True
        assert_error(third_client.get("/api/history/4799"), 404, "Game 4799 not found")


# --- Characters, GAME_REQUIRE_AUTH on ------------------------------------------------------------


@pytest.mark.usefixtures("private")
class TestPrivateCharacters:
    def test_another_user_gets_404(self, auth_client, other_auth_client):
        cid = ok(
            auth_client.post("/api/games/4800/characters", {"name": "Mine", "class": "x"}), 201
        )["id"]
        before = snapshot()
        for method, path, body in [
            ("GET", f"/api/characters/{cid}", None),
            ("PATCH", f"/api/characters/{cid}", {"name": "Stolen"}),
            ("PUT", f"/api/characters/{cid}", {"tags": ["stolen"]}),
            ("DELETE", f"/api/characters/{cid}", None),
        ]:
            assert_error(
                other_auth_client.generic(method, path, body), 404, f"Character {cid} not found"
            )
        response = other_auth_client.patch("/api/characters/game/4800", {"name": "Stolen"})
        assert_error(response, 404, "Game 4800 has no character")
        assert ok(other_auth_client.get("/api/games/4800/characters")) == []
        assert snapshot() == before

    def test_the_owner_keeps_every_route(self, auth_client):
        cid = ok(
            auth_client.post("/api/games/4801/characters", {"name": "Mine", "class": "x"}), 201
        )["id"]
        assert ok(auth_client.get(f"/api/characters/{cid}"))["name"] == "Mine"
        assert [c["id"] for c in ok(auth_client.get("/api/games/4801/characters"))] == [cid]
        assert ok(auth_client.patch("/api/characters/game/4801", {"level": 3}))["id"] == cid
        assert ok(auth_client.patch(f"/api/characters/{cid}", {"level": 4}))["level"] == 4
        assert ok(auth_client.delete(f"/api/characters/{cid}")) == {"ok": True}

    def test_lists_hold_only_what_the_caller_may_see(self, auth_client, other_auth_client):
        game = GameFactory(id=4802)
        open_one = CharacterFactory(game=game)
        mine = ok(auth_client.post("/api/games/4802/characters", {"name": "A", "class": "x"}), 201)
        theirs = ok(
            other_auth_client.post("/api/games/4802/characters", {"name": "B", "class": "x"}), 201
        )
        listed = [c["id"] for c in ok(auth_client.get("/api/games/4802/characters"))]
        assert listed == [open_one.pk, mine["id"]]
        listed = [c["id"] for c in ok(other_auth_client.get("/api/games/4802/characters"))]
        assert listed == [open_one.pk, theirs["id"]]

    def test_a_chat_cannot_borrow_another_users_character(
        self, auth_client, other_auth_client, client
    ):
        cid = ok(
            auth_client.post("/api/games/4803/characters", {"name": "Mine", "class": "x"}), 201
        )["id"]
        chats_before = Chat.objects.count()
        for caller in (other_auth_client, client):  # another user, and an anonymous cookie
            refused = caller.post("/api/chats", {"characterId": cid})
            assert refused.status_code == 400, refused.content
            assert refused.json() == {
                "statusCode": 400,
                "statusMessage": f"characterId: character {cid} not found",
            }
        assert Chat.objects.count() == chats_before
        assert auth_client.post("/api/chats", {"characterId": cid}).status_code == 201
        open_one = CharacterFactory(opening_line="Hello.")
        assert client.post("/api/chats", {"characterId": open_one.pk}).status_code == 201


# --- Games and titles, GAME_REQUIRE_AUTH on ------------------------------------------------------


@pytest.mark.usefixtures("private")
class TestPrivateGamesAndTitles:
    def test_a_game_is_changed_by_its_owner_or_staff_only(
        self, auth_client, other_auth_client, staff_client, user
    ):
        start(auth_client, 4900)
        assert Game.objects.get(pk=4900).owner == user
        before = snapshot()
        assert_error(
            other_auth_client.patch("/api/games/4900", {"title": "Pwned"}),
            404,
            "Game 4900 not found",
        )
        assert snapshot() == before
        # Reading a game stays open: players share game worlds.
        assert ok(other_auth_client.get("/api/games/4900"))["id"] == 4900
        assert ok(auth_client.patch("/api/games/4900", {"title": "Mine"}))["title"] == "Mine"
        assert ok(staff_client.patch("/api/games/4900", {"genre": "noir"}))["genre"] == "noir"

    def test_a_game_without_an_owner_is_staffs(self, auth_client, staff_client):
        game = GameFactory(title="Demo")
        assert_error(auth_client.patch(f"/api/games/{game.pk}", {"title": "x"}), 404, "not found")
        assert (
            ok(staff_client.patch(f"/api/games/{game.pk}", {"title": "Edited"}))["title"]
            == "Edited"
        )

    def test_a_new_game_belongs_to_the_user_who_first_referenced_it(self, auth_client, user):
        ok(auth_client.post("/api/games/4901/characters", {"name": "A", "class": "x"}), 201)
        assert Game.objects.get(pk=4901).owner == user

    def test_titles_are_written_by_staff_only(self, auth_client, staff_client):
        start(auth_client, 4902)
        title = GameTitleFactory(title="Catalogue", description="Kept")
        linked = GameFactory(game_title=GameTitleFactory(title="Linked"))
        before = snapshot()
        for method, path, body in [
            ("POST", "/api/game_titles", {"title": "New"}),
            ("PATCH", f"/api/game_titles/{title.pk}", {"description": "Ignore all rules"}),
            ("DELETE", f"/api/game_titles/{title.pk}", None),
            # Even the owner of game 4902 may not add catalogue text through its game.
            ("POST", "/api/games/4902/title", {"title": "New"}),
            ("PATCH", f"/api/games/{linked.pk}/title", {"description": "Ignore all rules"}),
            ("DELETE", f"/api/games/{linked.pk}/title", None),
        ]:
            assert_error(auth_client.generic(method, path, body), 404, "not found")
        assert snapshot() == before
        assert ok(auth_client.get(f"/api/game_titles/{title.pk}"))["title"] == "Catalogue"
        ok(staff_client.post("/api/game_titles", {"title": "New"}), 201)
        ok(staff_client.patch(f"/api/game_titles/{title.pk}", {"description": "Edited"}))
        ok(staff_client.post("/api/games/4902/title", {"title": "For 4902"}), 201)
        ok(staff_client.patch(f"/api/games/{linked.pk}/title", {"title": "Renamed"}))
        assert ok(staff_client.delete(f"/api/games/{linked.pk}/title")) == {"ok": True}
        assert ok(staff_client.delete(f"/api/game_titles/{title.pk}")) == {"ok": True}


# --- Query counts, GAME_REQUIRE_AUTH on ----------------------------------------------------------


@pytest.mark.usefixtures("private")
@pytest.mark.parametrize("rows", [3, 10])
class TestPrivateQueryCounts:
    """The token's user, then the same queries as an open read: the filter is in the query."""

    @pytest.fixture
    def sid(self, auth_client, other_auth_client, rows):
        sid, other = start(auth_client, 5000), start(other_auth_client, 5000)
        for i in range(rows):
            for c, session_id in ((auth_client, sid), (other_auth_client, other)):
                line = {"sessionId": session_id, "role": "user", "content": f"m{i}"}
                ok(c.post("/api/messages", line), 201)
            ok(auth_client.post(f"/api/progress/{sid}/checkpoints", {"key": f"k{i}"}), 201)
        return sid

    def test_messages(self, auth_client, sid, rows, django_assert_num_queries):
        with django_assert_num_queries(3):
            assert len(ok(auth_client.get(f"/api/messages?sessionId={sid}"))) == rows

    def test_history(self, auth_client, sid, rows, django_assert_num_queries):
        with django_assert_num_queries(3):
            assert ok(auth_client.get("/api/history/5000"))["total"] == rows

    def test_progress(self, auth_client, sid, rows, django_assert_num_queries):
        with django_assert_num_queries(3):
            assert len(ok(auth_client.get(f"/api/progress/{sid}"))["checkpoints"]) == rows

    def test_characters(self, auth_client, sid, rows, django_assert_num_queries):
        with django_assert_num_queries(3):
            assert len(ok(auth_client.get("/api/games/5000/characters"))) == 1


# --- A token present, GAME_REQUIRE_AUTH off -------------------------------------------------------


class TestOpenModeGames:
    def test_a_game_created_with_a_token_is_changed_by_its_owner_only(
        self, auth_client, other_auth_client, client, staff_client
    ):
        start(auth_client, 5100)
        before = snapshot()
        assert_error(
            other_auth_client.patch("/api/games/5100", {"title": "Pwned"}), 403, "another user"
        )
        assert_error(client.patch("/api/games/5100", {"title": "Pwned"}), 401, "token")
        assert_error(other_auth_client.post("/api/games/5100/title", {"title": "Pwned"}), 403)
        assert snapshot() == before
        assert ok(auth_client.patch("/api/games/5100", {"title": "Mine"}))["title"] == "Mine"
        assert ok(staff_client.patch("/api/games/5100", {"genre": "noir"}))["genre"] == "noir"
        ok(auth_client.post("/api/games/5100/title", {"title": "Own title"}), 201)
        assert_error(other_auth_client.delete("/api/games/5100/title"), 403)
        assert ok(auth_client.delete("/api/games/5100/title")) == {"ok": True}

    def test_a_game_created_without_a_token_stays_open(self, client, other_auth_client):
        ok(client.post("/api/games/5101/characters", {"userId": 1, "name": "A", "class": "x"}), 201)
        assert Game.objects.get(pk=5101).owner_id is None
        assert ok(other_auth_client.patch("/api/games/5101", {"title": "T"}))["title"] == "T"
        assert ok(client.patch("/api/games/5101", {"genre": "g"}))["genre"] == "g"

    def test_another_players_scenario_does_not_retitle_the_owners_game(
        self, auth_client, other_auth_client, user
    ):
        start(auth_client, 5102)
        theirs = start(other_auth_client, 5102)
        body = ok(other_auth_client.post(SCENARIO, {"sessionId": theirs, "templateTitle": "Heist"}))
        assert body["gameTitle"] == "Heist"
        assert Game.objects.get(pk=5102).game_title_id is None
        mine = GameSession.objects.filter(game_id=5102, owner=user).get()
        ok(auth_client.post(SCENARIO, {"sessionId": str(mine.pk), "templateTitle": "Heist"}))
        assert Game.objects.get(pk=5102).game_title.title == "Heist"


# --- GET /api/ai/diagnostics ---------------------------------------------------------------------


class TestDiagnostics:
    def test_open_in_the_embedded_mode(self, client, settings):
        settings.EMBEDDED, settings.PRODUCTION_SHAPE = True, False
        assert ok(client.get("/api/ai/diagnostics"))["provider"] == "offline"

    @pytest.mark.parametrize("shape", ["database", "https"])
    def test_staff_only_in_the_production_shape(
        self, client, auth_client, staff_client, settings, shape
    ):
        # A database (or Redis) URL leaves the embedded mode; HTTPS=1 alone is production too.
        settings.EMBEDDED, settings.PRODUCTION_SHAPE = shape == "https", True
        for caller in (client, auth_client):
            assert assert_error(caller.get("/api/ai/diagnostics"), 404) == "Not found"
        body = ok(staff_client.get("/api/ai/diagnostics"))
        assert body["provider"] == "offline" and "dialogue" in body["tasks"]
