"""Token lifecycle: a refresh token works once (rotation), and a rotated-out one coming back
ends its whole login (reuse detection, OAuth 2.1): every refresh token descended from it and
its access tokens stop working, whoever refreshed last; logout ends a login the same way; a
password change revokes every token issued before it, access tokens included."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import TokenFamily
from accounts.services import CREDENTIALS_CLAIM, credentials_stamp, tokens_for_user
from tests.conftest import JsonClient
from tests.helpers import json_body, movie_error

pytestmark = pytest.mark.django_db


def refresh(client, token: str):
    return client.post("/api/auth/refresh", {"refreshToken": token})


def game_with(token: str):
    c = JsonClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return c.get("/api/game_titles")


def reuse_refused(response):
    error = movie_error(response, 401, "AUTH_REQUIRED")
    assert "refresh token" in error["message"].lower()


def test_a_refresh_token_works_once_and_its_successor_works(client, user):
    first = tokens_for_user(user=user).refresh
    second = json_body(refresh(client, first))["refreshToken"]
    assert second != first
    third = json_body(refresh(client, second))["refreshToken"]
    assert third not in {first, second}
    assert json_body(refresh(client, third))["refreshToken"]


def test_a_thief_who_refreshes_first_loses_the_login_when_the_owner_refreshes(client, user):
    stolen = tokens_for_user(user=user).refresh
    thief = json_body(refresh(client, stolen))
    assert game_with(thief["token"]).status_code == 200

    reuse_refused(refresh(client, stolen))  # the owner's copy comes back: reuse

    reuse_refused(refresh(client, thief["refreshToken"]))  # the thief's chain is dead
    assert game_with(thief["token"]).status_code == 401  # and so is the thief's access token


def test_reusing_an_old_token_ends_every_token_descended_from_it(client, user):
    login = tokens_for_user(user=user)
    first = login.refresh
    second = json_body(refresh(client, first))
    third = json_body(refresh(client, second["refreshToken"]))

    reuse_refused(refresh(client, first))  # a thief replays the first one

    reuse_refused(refresh(client, third["refreshToken"]))  # the owner's newest stops too
    reuse_refused(refresh(client, second["refreshToken"]))
    for access in (login.access, second["token"], third["token"]):
        assert game_with(access).status_code == 401
    family = TokenFamily.objects.get(user=user)
    assert family.revoked_at is not None and family.revoked_reason == "reuse"


def test_ending_one_login_leaves_the_others(client, user):
    phone, laptop = tokens_for_user(user=user), tokens_for_user(user=user)
    json_body(refresh(client, phone.refresh))
    reuse_refused(refresh(client, phone.refresh))

    assert game_with(laptop.access).status_code == 200
    assert json_body(refresh(client, laptop.refresh))["refreshToken"]


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_racing_with_one_token_give_one_new_pair_and_end_the_login(user):
    token = tokens_for_user(user=user).refresh
    bodies: list = []
    barrier = threading.Barrier(2)

    def attempt():
        barrier.wait()
        response = refresh(JsonClient(), token)
        bodies.append((response.status_code, response.json()))
        connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in bodies) == [200, 401]
    # The loser presented a token already rotated out: the server cannot tell a double
    # submit from a thief racing the owner, so the winner's new token is refused as well.
    (winner,) = [body for status, body in bodies if status == 200]
    reuse_refused(refresh(JsonClient(), winner["refreshToken"]))


def test_a_refresh_token_from_before_families_works_once(client, user):
    legacy = RefreshToken.for_user(user)
    legacy[CREDENTIALS_CLAIM] = credentials_stamp(user)
    successor = json_body(refresh(client, str(legacy)))["refreshToken"]
    reuse_refused(refresh(client, str(legacy)))
    assert json_body(refresh(client, successor))["refreshToken"]
    assert TokenFamily.objects.filter(user=user).count() == 1


def test_logout_ends_the_login_and_is_idempotent(client, user):
    login, other = tokens_for_user(user=user), tokens_for_user(user=user)
    newer = json_body(refresh(client, login.refresh))
    for token in (login.refresh, newer["refreshToken"]):  # any token of the login ends it
        body = json_body(client.post("/api/auth/logout", {"refreshToken": token}))
        assert body == {"success": True, "loggedOut": True}
    reuse_refused(refresh(client, newer["refreshToken"]))
    assert game_with(newer["token"]).status_code == 401
    assert TokenFamily.objects.filter(revoked_reason="logout").count() == 1
    assert game_with(other.access).status_code == 200


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
