"""Token lifecycle: a refresh token works once (rotation with a blacklist), logout revokes it,
and a password change revokes every token issued before it, access tokens included."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.services import tokens_for_user
from tests.conftest import JsonClient
from tests.helpers import json_body, movie_error

pytestmark = pytest.mark.django_db


def refresh(client, token: str):
    return client.post("/api/auth/refresh", {"refreshToken": token})


def game_with(token: str):
    c = JsonClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return c.get("/api/game_titles")


def test_a_refresh_token_works_once_and_its_successor_works(client, user):
    first = tokens_for_user(user=user).refresh
    body = json_body(refresh(client, first))
    second = body["refreshToken"]
    assert second != first

    error = movie_error(refresh(client, first), 401, "AUTH_REQUIRED")
    assert "refresh token" in error["message"].lower()
    assert json_body(refresh(client, second))["refreshToken"] not in {first, second}


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_racing_with_one_token_give_one_new_pair(user):
    token = tokens_for_user(user=user).refresh
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def attempt():
        barrier.wait()
        statuses.append(refresh(JsonClient(), token).status_code)
        connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 401]


def test_logout_revokes_the_refresh_token_and_is_idempotent(client, user):
    token = tokens_for_user(user=user).refresh
    for _ in range(2):
        body = json_body(client.post("/api/auth/logout", {"refreshToken": token}))
        assert body == {"success": True, "loggedOut": True}
    movie_error(refresh(client, token), 401, "AUTH_REQUIRED")


def test_logout_needs_a_token_field(client):
    error = movie_error(client.post("/api/auth/logout", {}), 400, "VALIDATION_ERROR")
    assert [d["field"] for d in error["details"]] == ["refreshToken"]


def test_a_password_change_revokes_earlier_access_and_refresh_tokens(client, user, monkeypatch):
    old = tokens_for_user(user=user)
    assert game_with(old.access).status_code == 200

    monkeypatch.setattr("getpass.getpass", lambda prompt="": "a-brand-new-password-42")
    call_command("changepassword", user.email, verbosity=0)

    response = game_with(old.access)
    assert response.status_code == 401
    assert "password" in response.json()["error"].lower()
    movie_error(refresh(client, old.refresh), 401, "AUTH_REQUIRED")
    user.refresh_from_db()
    assert game_with(tokens_for_user(user=user).access).status_code == 200
