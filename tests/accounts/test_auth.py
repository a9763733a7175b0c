"""Identity: e-mail login and refresh in family M's shape, the same JWT on family G, and G's
ownership rule (CONTRACTS.md, "Identity, users and ownership")."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.management import CommandError, call_command
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from accounts.services import tokens_for_user
from characters.models import Character
from config.api.base import GameApiView
from games.models import Checkpoint, Game, GameSession, GameTitle, Message, Progress
from tests.conftest import JsonClient
from tests.factories import CharacterFactory, UserFactory
from tests.helpers import game_error as assert_game_error
from tests.helpers import json_body as assert_json
from tests.helpers import movie_error as assert_movie_error

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's password


def bearer(token: str) -> JsonClient:
    c = JsonClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return c


def login(client, email, password=PASSWORD):
    return client.post("/api/auth/login", {"email": email, "password": password})


# --- POST /api/auth/login -----------------------------------------------------------------------


class TestLogin:
    def test_success_shape(self, client, user):
        body = assert_json(login(client, user.email), 200)
        assert set(body) == {"success", "token", "refreshToken", "user"}
        assert body["success"] is True
        assert isinstance(body["token"], str) and body["token"]
        assert isinstance(body["refreshToken"], str) and body["refreshToken"]
        assert body["token"] != body["refreshToken"]
        assert set(body["user"]) == {"id", "email", "name", "role", "tier"}
        assert body["user"]["id"].startswith("user-")
        assert body["user"]["id"] == user.public_id
        assert body["user"]["email"] == user.email
        assert body["user"]["name"] == user.name
        assert body["user"]["role"] == "user"
        assert body["user"]["tier"] == "free"

    def test_public_id_does_not_reveal_the_primary_key(self, client, user):
        public_id = assert_json(login(client, user.email), 200)["user"]["id"]
        assert re.fullmatch(r"user-[0-9a-f]{12}", public_id)
        assert public_id != f"user-{user.pk}"

    def test_role_and_tier_follow_the_user(self, client):
        staff = UserFactory(is_staff=True, tier="enterprise")
        body = assert_json(login(client, staff.email), 200)
        assert (body["user"]["role"], body["user"]["tier"]) == ("admin", "enterprise")
        pro = UserFactory(tier="pro")
        assert assert_json(login(client, pro.email), 200)["user"]["tier"] == "pro"

    def test_the_token_identifies_the_user_on_family_g(self, client, user):
        token = assert_json(login(client, user.email), 200)["token"]
        response = bearer(token).post("/api/games/1/characters", {"name": "A", "class": "b"})
        character = Character.objects.get(pk=assert_json(response, 201)["id"])
        assert character.owner_id == user.pk

    @pytest.mark.parametrize(
        "variant", [str.upper, str.title, lambda e: e.swapcase(), lambda e: f"  {e}  "]
    )
    def test_email_is_case_insensitive(self, client, user, variant):
        body = assert_json(login(client, variant(user.email)), 200)
        assert body["user"]["id"] == user.public_id

    def test_mixed_case_registration_logs_in_with_any_case(self, client):
        user = User.objects.create_user("Mixed.Case@Example.COM", PASSWORD)
        assert user.email == "mixed.case@example.com"
        for email in ("Mixed.Case@Example.COM", "mixed.case@example.com", "MIXED.CASE@EXAMPLE.COM"):
            assert assert_json(login(client, email), 200)["user"]["id"] == user.public_id

    def test_same_address_in_another_case_is_the_same_user(self, db):
        User.objects.create_user("dup@example.com", PASSWORD)
        from django.db import IntegrityError, transaction

        with pytest.raises(IntegrityError), transaction.atomic():
            User.objects.create_user("DUP@Example.com", PASSWORD)

    def test_wrong_password_is_401(self, client, user):
        error = assert_movie_error(login(client, user.email, "wrong"), 401, "AUTH_REQUIRED")
        assert error["message"] == "Invalid e-mail or password"
        assert error["details"] == []

    def test_unknown_email_is_the_same_401(self, client, user):
        wrong_password = assert_movie_error(login(client, user.email, "nope"), 401, "AUTH_REQUIRED")
        unknown = assert_movie_error(login(client, "nobody@example.com"), 401, "AUTH_REQUIRED")
        assert unknown == wrong_password

    def test_inactive_user_cannot_log_in(self, client):
        inactive = UserFactory(is_active=False)
        assert_movie_error(login(client, inactive.email), 401, "AUTH_REQUIRED")

    @pytest.mark.parametrize(
        ("payload", "fields"),
        [
            ({}, ["email", "password"]),
            ({"email": "a@example.com"}, ["password"]),
            ({"password": PASSWORD}, ["email"]),
            ({"email": "not-an-e-mail", "password": PASSWORD}, ["email"]),
            ({"email": "", "password": ""}, ["email", "password"]),
            ({"email": None, "password": PASSWORD}, ["email"]),
        ],
    )
    def test_missing_or_invalid_fields_are_400_with_details(self, client, payload, fields):
        error = assert_movie_error(client.post("/api/auth/login", payload), 400, "VALIDATION_ERROR")
        assert [d["field"] for d in error["details"]] == fields
        for detail in error["details"]:
            assert set(detail) == {"field", "message"}
            assert isinstance(detail["message"], str) and detail["message"]
        for field in fields:
            assert field in error["message"]

    def test_missing_field_message_is_the_required_one(self, client):
        error = assert_movie_error(client.post("/api/auth/login", {}), 400, "VALIDATION_ERROR")
        assert error["details"] == [
            {"field": "email", "message": "This field is required."},
            {"field": "password", "message": "This field is required."},
        ]

    def test_a_bearer_header_does_not_matter_for_login(self, client, user):
        client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
        assert assert_json(login(client, user.email), 200)["success"] is True


# --- POST /api/auth/refresh ---------------------------------------------------------------------


class TestRefresh:
    def refresh_token(self, client, user):
        return assert_json(login(client, user.email), 200)["refreshToken"]

    @pytest.mark.parametrize("key", ["refreshToken", "refresh"])
    def test_refresh_issues_a_working_access_token(self, client, user, settings, key):
        refresh = self.refresh_token(client, user)
        body = assert_json(client.post("/api/auth/refresh", {key: refresh}), 200)
        assert set(body) == {"success", "token", "refreshToken"}
        assert body["success"] is True
        assert body["refreshToken"] != refresh  # rotated: see tests/accounts/test_tokens.py
        assert AccessToken(body["token"])["user_id"] == str(user.pk)
        settings.GAME_REQUIRE_AUTH = True
        assert bearer(body["token"]).get("/api/game_titles").status_code == 200

    @pytest.mark.parametrize("bad", ["garbage", "a.b.c", "x" * 400])
    def test_bad_refresh_token_is_401(self, client, bad):
        error = assert_movie_error(
            client.post("/api/auth/refresh", {"refreshToken": bad}), 401, "AUTH_REQUIRED"
        )
        assert "refresh token" in error["message"].lower()

    def test_an_access_token_is_not_a_refresh_token(self, client, user):
        access = assert_json(login(client, user.email), 200)["token"]
        assert_movie_error(
            client.post("/api/auth/refresh", {"refreshToken": access}), 401, "AUTH_REQUIRED"
        )

    def test_refresh_for_a_deactivated_user_is_401(self, client, user):
        refresh = self.refresh_token(client, user)
        User.objects.filter(pk=user.pk).update(is_active=False)
        assert_movie_error(
            client.post("/api/auth/refresh", {"refreshToken": refresh}), 401, "AUTH_REQUIRED"
        )

    def test_missing_refresh_token_is_400(self, client):
        error = assert_movie_error(client.post("/api/auth/refresh", {}), 400, "VALIDATION_ERROR")
        assert [d["field"] for d in error["details"]] == ["refreshToken"]


# --- createsuperuser ----------------------------------------------------------------------------


class TestCreateSuperuser:
    def test_with_email_and_no_input(self, client, monkeypatch):
        monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-admin-password-42")
        call_command("createsuperuser", "--noinput", "--email", "Root@Example.COM", verbosity=0)
        admin = User.objects.get(email="root@example.com")
        assert admin.is_staff and admin.is_superuser and admin.is_active
        assert admin.check_password("a-long-admin-password-42")
        assert admin.public_id.startswith("user-")
        body = assert_json(login(client, "root@example.com", "a-long-admin-password-42"), 200)
        assert body["user"]["role"] == "admin"

    def test_requires_an_email(self, monkeypatch):
        monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-admin-password-42")
        with pytest.raises(CommandError):
            call_command("createsuperuser", "--noinput", verbosity=0)
        assert not User.objects.filter(is_superuser=True).exists()


# --- Family G with a token ----------------------------------------------------------------------


def expired_token(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-dt.timedelta(minutes=1))
    return str(token)


class TestGameTokens:
    @pytest.mark.parametrize("kind", ["garbage", "expired", "deleted-user", "refresh-token"])
    def test_invalid_token_is_401_even_when_g_is_open(self, user, kind):
        if kind == "garbage":
            token = "not-a-jwt"
        elif kind == "expired":
            token = expired_token(user)
        elif kind == "refresh-token":
            token = tokens_for_user(user=user).refresh
        else:
            ghost = UserFactory()
            token = tokens_for_user(user=ghost).access
            ghost.delete()
        c = bearer(token)
        for response in (
            c.get("/api/game_titles"),
            c.post("/api/games/1/characters", {"userId": 1, "name": "A", "class": "b"}),
        ):
            assert_game_error(response, 401)
            assert response["WWW-Authenticate"].startswith("Bearer")
        assert Character.objects.count() == 0
        assert not Game.objects.exists()

    def test_without_a_token_g_is_open_by_default(self, client, settings):
        assert settings.GAME_REQUIRE_AUTH is False
        assert client.get("/api/game_titles").status_code == 200
        created = client.post("/api/games/1/characters", {"userId": 1, "name": "A", "class": "b"})
        assert created.status_code == 201


def _sample(converter: str) -> str:
    return "00000000-0000-4000-8000-000000000001" if converter == "uuid" else "1"


def game_routes() -> list[tuple[str, str]]:
    """Every (method, path) served by a GameApiView, with sample path parameters."""
    found: list[tuple[str, str]] = []

    def walk(patterns, prefix):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                view_class = getattr(entry.callback, "view_class", None)
                if not (view_class and issubclass(view_class, GameApiView)):
                    continue
                route = re.sub(
                    r"<(?:(\w+):)?\w+>",
                    lambda m: _sample(m.group(1) or "str"),
                    prefix + str(entry.pattern),
                )
                for method in ("get", "post", "put", "patch", "delete"):
                    if hasattr(view_class, method):
                        found.append((method.upper(), "/" + route.lstrip("^").rstrip("$")))

    walk(get_resolver().url_patterns, "")
    return found


def _row_counts():
    return {
        model.__name__: model.objects.count()
        for model in (Character, Game, GameSession, GameTitle, Message, Progress, Checkpoint)
    }


class TestGameRequireAuth:
    def test_every_g_route_needs_a_token(self, client, settings):
        settings.GAME_REQUIRE_AUTH = True
        character = CharacterFactory()
        before = _row_counts()
        routes = game_routes()
        assert {
            ("POST", "/api/session/start"),
            ("POST", "/api/session/end"),
            ("GET", "/api/messages"),
            ("POST", "/api/messages"),
            ("GET", "/api/characters/1"),
            ("PATCH", "/api/characters/1"),
            ("DELETE", "/api/characters/1"),
            ("PATCH", "/api/characters/game/1"),
            ("GET", "/api/games/1/characters"),
            ("POST", "/api/games/1/characters"),
            ("PATCH", "/api/progress/1"),
            ("GET", "/api/game_titles"),
        } <= set(routes)
        body = {"sessionId": "1", "userId": 1, "gameId": 1, "characterId": character.pk}
        for method, path in routes:
            response = client.generic(method, path, body if method != "GET" else None)
            message = assert_game_error(response, 401)
            assert "token" in message.lower() or "authentication" in message.lower(), (
                method,
                path,
            )
        assert _row_counts() == before

    def test_with_a_token_g_routes_work(self, auth_client, settings):
        settings.GAME_REQUIRE_AUTH = True
        created = auth_client.post("/api/games/1/characters", {"name": "A", "class": "b"})
        cid = assert_json(created, 201)["id"]
        assert assert_json(auth_client.get(f"/api/characters/{cid}"), 200)["id"] == cid

    def test_other_families_do_not_change(self, client, settings):
        settings.GAME_REQUIRE_AUTH = True
        assert client.get("/api/ping").status_code == 200
        assert client.get("/api/health").status_code == 200
        assert_movie_error(login(client, "nobody@example.com"), 401, "AUTH_REQUIRED")


# --- Ownership ----------------------------------------------------------------------------------


@pytest.fixture
def owned_session(auth_client):
    """A session started with user A's token (`auth_client`)."""
    character = CharacterFactory(game__id=77)
    response = auth_client.post("/api/session/start", {"gameId": 77, "characterId": character.pk})
    return assert_json(response, 201)["sessionId"]


def session_writes(session_id):
    return [
        ("POST", "/api/session/end", {"sessionId": session_id}),
        ("POST", "/api/messages", {"sessionId": session_id, "role": "user", "content": "hi"}),
        ("PATCH", f"/api/progress/{session_id}", {"chapter": 2}),
        ("POST", f"/api/progress/{session_id}/checkpoints", {"key": "door", "value": "open"}),
    ]


def session_state(session_id):
    session = GameSession.objects.get(pk=session_id)
    progress = Progress.objects.get(session=session)
    return (
        session.status,
        Message.objects.filter(session=session).count(),
        progress.chapter,
        Checkpoint.objects.filter(progress=progress).count(),
    )


class TestSessionOwnership:
    def test_another_user_cannot_change_it(self, owned_session, other_auth_client):
        before = session_state(owned_session)
        for method, path, body in session_writes(owned_session):
            message = assert_game_error(other_auth_client.generic(method, path, body), 403)
            assert "another user" in message
        assert session_state(owned_session) == before

    def test_an_anonymous_caller_cannot_change_it(self, owned_session, client):
        before = session_state(owned_session)
        for method, path, body in session_writes(owned_session):
            message = assert_game_error(client.generic(method, path, body), 401)
            assert "token" in message.lower()
        assert session_state(owned_session) == before

    def test_anyone_can_read_it(self, owned_session, client, other_auth_client):
        for reader in (client, other_auth_client):
            assert (
                assert_json(reader.get(f"/api/session/{owned_session}"), 200)["sessionId"]
                == owned_session
            )
            assert assert_json(reader.get(f"/api/messages?sessionId={owned_session}"), 200) == []
            assert assert_json(reader.get(f"/api/progress/{owned_session}"), 200)["chapter"] == 1

    def test_the_owner_can_change_it(self, owned_session, auth_client, user):
        session = assert_json(auth_client.get(f"/api/session/{owned_session}"), 200)
        assert session["userId"] == user.public_id
        statuses = [
            auth_client.generic(method, path, body).status_code
            for method, path, body in reversed(session_writes(owned_session))
        ]
        assert statuses == [201, 200, 201, 200]
        assert session_state(owned_session) == ("ended", 1, 2, 1)


@pytest.fixture
def owned_character(auth_client):
    """A character created with user A's token in game 88."""
    response = auth_client.post("/api/games/88/characters", {"name": "Mine", "class": "mage"})
    return assert_json(response, 201)["id"]


def character_writes(character_id):
    return [
        ("PATCH", f"/api/characters/{character_id}", {"name": "Stolen"}),
        ("PATCH", "/api/characters/game/88", {"name": "Stolen"}),
        ("DELETE", f"/api/characters/{character_id}", None),
    ]


class TestCharacterOwnership:
    def test_another_user_cannot_change_it(self, owned_character, other_auth_client, client):
        before = client.get(f"/api/characters/{owned_character}").json()
        for method, path, body in character_writes(owned_character):
            message = assert_game_error(other_auth_client.generic(method, path, body), 403)
            assert "another user" in message
        assert client.get(f"/api/characters/{owned_character}").json() == before

    def test_claiming_the_owners_user_id_does_not_help(
        self, owned_character, other_auth_client, user
    ):
        response = other_auth_client.patch(
            f"/api/characters/game/88?userId={user.public_id}", {"name": "Stolen"}
        )
        assert_game_error(response, 403)
        assert Character.objects.get(pk=owned_character).name == "Mine"

    def test_an_anonymous_caller_cannot_change_it(self, owned_character, client):
        before = client.get(f"/api/characters/{owned_character}").json()
        for method, path, body in character_writes(owned_character):
            assert_game_error(client.generic(method, path, body), 401)
        assert client.get(f"/api/characters/{owned_character}").json() == before

    def test_anyone_can_read_it(self, owned_character, client, other_auth_client):
        for reader in (client, other_auth_client):
            assert (
                assert_json(reader.get(f"/api/characters/{owned_character}"), 200)["name"] == "Mine"
            )
            listed = assert_json(reader.get("/api/games/88/characters"), 200)
            assert [c["id"] for c in listed] == [owned_character]

    def test_the_owner_can_change_and_delete_it(self, owned_character, auth_client):
        assert (
            assert_json(auth_client.patch(f"/api/characters/{owned_character}", {"level": 3}), 200)[
                "level"
            ]
            == 3
        )
        assert (
            assert_json(auth_client.patch("/api/characters/game/88", {"level": 4}), 200)["id"]
            == owned_character
        )
        assert assert_json(auth_client.delete(f"/api/characters/{owned_character}"), 200) == {
            "ok": True
        }
        assert not Character.objects.filter(pk=owned_character).exists()


class TestUnownedStaysOpen:
    def test_character_created_without_a_token(self, client, auth_client, other_auth_client):
        cid = assert_json(
            client.post("/api/games/5/characters", {"userId": 9, "name": "Open", "class": "c"}),
            201,
        )["id"]
        assert Character.objects.get(pk=cid).owner_id is None
        assert assert_json(client.patch(f"/api/characters/{cid}", {"level": 2}), 200)["level"] == 2
        assert (
            assert_json(auth_client.patch(f"/api/characters/{cid}", {"level": 3}), 200)["level"]
            == 3
        )
        assert (
            assert_json(other_auth_client.patch("/api/characters/game/5", {"level": 4}), 200)[
                "level"
            ]
            == 4
        )
        # Changing it with a token does not claim it.
        assert Character.objects.get(pk=cid).owner_id is None
        assert assert_json(client.delete(f"/api/characters/{cid}"), 200) == {"ok": True}

    def test_session_started_without_a_token(self, client, auth_client, other_auth_client):
        character = CharacterFactory(game__id=66)
        sid = assert_json(
            client.post(
                "/api/session/start", {"gameId": 66, "userId": 3, "characterId": character.pk}
            ),
            201,
        )["sessionId"]
        assert GameSession.objects.get(pk=sid).owner_id is None
        writes = session_writes(sid)
        callers = [client, auth_client, other_auth_client, client]
        statuses = [
            caller.generic(method, path, body).status_code
            for caller, (method, path, body) in zip(callers, reversed(writes), strict=True)
        ]
        assert statuses == [201, 200, 201, 200]
        assert session_state(sid) == ("ended", 1, 2, 1)
