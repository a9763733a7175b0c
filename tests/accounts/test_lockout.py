"""Password guessing (issue 9): per account and per address, on the API login and the admin's
login form alike; a locked-out account fails like a wrong password, the right one included;
the client address comes from the socket peer, so a forged X-Forwarded-For changes nothing."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory
from tests.helpers import json_body, movie_error

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-password-42"


@pytest.fixture
def account(settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = "5/day"
    settings.LOGIN_FAILURES_PER_ADDRESS = "12/day"
    user = UserFactory()
    user.set_password(PASSWORD)
    user.save()
    return user


def api_login(client, email, password, address="10.0.0.1", forged=None):
    extra = {"REMOTE_ADDR": address}
    if forged:
        extra["HTTP_X_FORWARDED_FOR"] = forged
    return client.post("/api/auth/login", {"email": email, "password": password}, **extra)


def test_after_the_account_limit_even_the_right_password_fails_like_a_wrong_one(client, account):
    wrong = [api_login(client, account.email, "nope", address=f"10.0.1.{i}") for i in range(5)]
    messages = {movie_error(r, 401, "AUTH_REQUIRED")["message"] for r in wrong}

    locked = api_login(client, account.email, PASSWORD, address="10.0.9.9")

    assert movie_error(locked, 401, "AUTH_REQUIRED")["message"] in messages  # same answer
    other = UserFactory()
    other.set_password(PASSWORD)
    other.save()
    assert json_body(api_login(client, other.email, PASSWORD, address="10.0.9.9"))["token"]


def test_a_success_clears_the_account_failures(client, account):
    for _ in range(4):
        api_login(client, account.email, "nope")
    json_body(api_login(client, account.email, PASSWORD))
    for _ in range(4):
        api_login(client, account.email, "nope")
    assert json_body(api_login(client, account.email, PASSWORD))["token"]


def test_one_address_guessing_many_accounts_is_stopped(client, account):
    for i in range(12):
        api_login(client, f"someone{i}@example.com", "nope", address="10.0.0.7")
    locked = api_login(client, account.email, PASSWORD, address="10.0.0.7")
    movie_error(locked, 401, "AUTH_REQUIRED")
    assert json_body(api_login(client, account.email, PASSWORD, address="10.0.0.8"))["token"]


def test_a_forged_forwarded_for_does_not_escape_the_login_throttle(client, settings, account):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "auth_login": "3/day"}
    statuses = [
        api_login(client, account.email, "nope", forged=f"198.51.100.{i}").status_code
        for i in range(6)
    ]
    assert statuses == [401, 401, 401, 429, 429, 429]
    limited = api_login(client, account.email, "nope", forged="203.0.113.1")
    error = movie_error(limited, 429, "RATE_LIMITED")
    assert error["message"] and int(limited["Retry-After"]) >= 1


@pytest.fixture
def staff(account):
    account.is_staff = True
    account.is_superuser = True
    account.save()
    return account


def _form_client():
    from django.test import Client

    return Client()


def test_the_admin_login_is_limited_per_account(staff):
    client = _form_client()
    for i in range(5):
        response = client.post(
            "/admin/login/?next=/admin/",
            {"username": staff.email, "password": "nope"},
            REMOTE_ADDR=f"10.0.2.{i}",
        )
        assert response.status_code == 200  # the form again
    locked = client.post(
        "/admin/login/?next=/admin/",
        {"username": staff.email, "password": PASSWORD},
        REMOTE_ADDR="10.0.3.1",
    )
    assert locked.status_code == 200 and b"errornote" in locked.content
    assert client.get("/admin/").status_code == 302  # still not signed in


def test_the_admin_login_is_limited_per_address(staff):
    client = _form_client()
    for i in range(12):
        client.post(
            "/admin/login/?next=/admin/",
            {"username": f"someone{i}@example.com", "password": "nope"},
            REMOTE_ADDR="10.0.4.4",
        )
    locked = client.post(
        "/admin/login/?next=/admin/",
        {"username": staff.email, "password": PASSWORD},
        REMOTE_ADDR="10.0.4.4",
    )
    assert b"errornote" in locked.content
    fine = client.post(
        "/admin/login/?next=/admin/",
        {"username": staff.email, "password": PASSWORD},
        REMOTE_ADDR="10.0.4.5",
    )
    assert fine.status_code == 302
