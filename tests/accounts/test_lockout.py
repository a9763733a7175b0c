"""Password guessing (accounts.lockout): locked per account and address together, on the API
login and the admin's login form alike, so nobody can lock a victim out from elsewhere; the
account's and the address's ceilings slow a spread-out attack without refusing the owner; the
attempt is counted before the password is hashed; the client address comes from the socket
peer, so a forged X-Forwarded-For changes nothing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import aauthenticate
from django.db import connection
from django.test import Client, RequestFactory

from tests.accounts.hashers import CountingHasher
from tests.conftest import JsonClient
from tests.factories import UserFactory
from tests.helpers import json_body, movie_error

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-password-42"
A, B = "10.0.0.1", "10.0.0.2"


@pytest.fixture
def limits(settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT_ADDRESS = "5/day"
    settings.LOGIN_FAILURES_PER_ACCOUNT = "20/day"
    settings.LOGIN_FAILURES_PER_ADDRESS = "12/day"
    return settings


def make_user(email=None):
    user = UserFactory(**({"email": email} if email else {}))
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def account(limits):
    return make_user()


def api_login(client, email, password, address=A, forged=None):
    extra = {"REMOTE_ADDR": address}
    if forged:
        extra["HTTP_X_FORWARDED_FOR"] = forged
    return client.post("/api/auth/login", {"email": email, "password": password}, **extra)


def logged_in(response) -> bool:
    if response.status_code == 200:
        return bool(json_body(response)["token"])
    movie_error(response, 401, "AUTH_REQUIRED")
    return False


# --- Per account and address -------------------------------------------------------------------


def test_failures_from_one_address_do_not_lock_the_owner_out_elsewhere(client, account, limits):
    limits.LOGIN_FAILURES_PER_ADDRESS = "50/day"  # here A guesses one account only
    wrong = [api_login(client, account.email, "nope", address=A) for _ in range(15)]
    messages = {movie_error(r, 401, "AUTH_REQUIRED")["message"] for r in wrong}
    assert len(messages) == 1  # the locked answers look like the wrong-password ones

    assert logged_in(api_login(client, account.email, PASSWORD, address=B))

    # A stays locked out of this account until the window ends, the right password included.
    for password in ("nope", "another-guess", PASSWORD):
        locked = api_login(client, account.email, password, address=A)
        assert movie_error(locked, 401, "AUTH_REQUIRED")["message"] in messages
    # and only of this account: A may still log into another one.
    assert logged_in(api_login(client, make_user().email, PASSWORD, address=A))


def test_the_lock_of_an_address_holds_after_the_owner_logs_in_elsewhere(client, account):
    for _ in range(5):
        api_login(client, account.email, "nope", address=A)
    assert logged_in(api_login(client, account.email, PASSWORD, address=B))
    assert not logged_in(api_login(client, account.email, PASSWORD, address=A))


def test_a_success_clears_that_address_failures(client, account):
    for _ in range(4):
        api_login(client, account.email, "nope")
    assert logged_in(api_login(client, account.email, PASSWORD))
    for _ in range(4):
        api_login(client, account.email, "nope")
    assert logged_in(api_login(client, account.email, PASSWORD))


def test_email_case_and_spaces_share_one_count(client, limits):
    user = make_user("admin@example.com")
    user.is_staff = user.is_superuser = True
    user.save()
    form = Client()
    variants = ["Admin@Example.com", "  admin@example.com  ", "ADMIN@EXAMPLE.COM"]
    for variant in variants:
        movie_error(api_login(client, variant, "nope"), 401, "AUTH_REQUIRED")
    for variant in variants[:2]:
        response = form.post(
            "/admin/login/?next=/admin/",
            {"username": variant, "password": "nope"},
            REMOTE_ADDR=A,
        )
        assert b"errornote" in response.content

    assert not logged_in(api_login(client, "admin@example.com", PASSWORD))
    assert not logged_in(api_login(client, " Admin@Example.com", PASSWORD))
    assert logged_in(api_login(client, "ADMIN@example.com", PASSWORD, address=B))


# --- The account's ceiling: a guesser with many addresses --------------------------------------


def test_past_the_account_ceiling_addresses_that_failed_are_refused_fresh_ones_are_not(
    client, account
):
    owner_address = "10.0.5.5"
    assert logged_in(api_login(client, account.email, PASSWORD, address=owner_address))
    api_login(client, account.email, "typo", address=owner_address)
    for i in range(20):
        api_login(client, account.email, "nope", address=f"10.0.1.{i}")

    # The ceiling is passed: an address that has already failed on this account is refused,
    # the right password included,
    assert not logged_in(api_login(client, account.email, PASSWORD, address="10.0.1.3"))
    # a fresh address gets its one try: the owner on a new network logs in,
    assert logged_in(api_login(client, account.email, PASSWORD, address="10.0.7.7"))
    # a fresh guesser gets one try, not five,
    assert not logged_in(api_login(client, account.email, "nope", address="10.0.8.8"))
    assert not logged_in(api_login(client, account.email, PASSWORD, address="10.0.8.8"))
    # and an address that has logged into the account before keeps logging in, typos and all.
    assert logged_in(api_login(client, account.email, PASSWORD, address=owner_address))


# --- The address's ceiling: one address guessing many accounts ---------------------------------


def test_one_address_guessing_many_accounts_is_stopped_on_accounts_it_does_not_know(
    client, account
):
    regular = make_user()
    assert logged_in(api_login(client, regular.email, PASSWORD, address="10.0.0.7"))
    for i in range(12):
        api_login(client, f"someone{i}@example.com", "nope", address="10.0.0.7")

    assert not logged_in(api_login(client, account.email, PASSWORD, address="10.0.0.7"))
    assert logged_in(api_login(client, account.email, PASSWORD, address="10.0.0.8"))
    # Behind a proxy that hides its clients, everyone has that one address: those who have
    # logged in through it before still can.
    assert logged_in(api_login(client, regular.email, PASSWORD, address="10.0.0.7"))


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


def test_a_forged_forwarded_for_does_not_pick_the_lockout_address(client, account):
    for i in range(5):
        api_login(client, account.email, "nope", forged=f"198.51.100.{i}")
    assert not logged_in(api_login(client, account.email, PASSWORD, forged="203.0.113.1"))


# --- Counted before the hash is checked --------------------------------------------------------


@pytest.fixture
def counting_hasher(limits):
    limits.PASSWORD_HASHERS = ["tests.accounts.hashers.CountingHasher"]
    CountingHasher.reset()
    yield CountingHasher
    CountingHasher.reset()


@pytest.mark.django_db(transaction=True)
def test_concurrent_wrong_guesses_check_no_more_passwords_than_the_limit(counting_hasher):
    user = make_user()
    # A slow hash, as in production: every guess is in flight before the first one ends.
    counting_hasher.reset(delay=0.3)
    barrier = threading.Barrier(20)

    def guess(i):
        barrier.wait()
        try:
            return api_login(JsonClient(), user.email, f"guess-{i}").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(guess, range(20)))

    assert statuses == [401] * 20
    assert 1 <= counting_hasher.calls <= 5
    counting_hasher.reset()
    assert not logged_in(api_login(JsonClient(), user.email, PASSWORD))
    assert counting_hasher.calls == 0  # locked: the right password is not even checked


def test_a_locked_out_attempt_hashes_nothing(client, counting_hasher):
    user = make_user()
    for _ in range(5):
        api_login(client, user.email, "nope")
    counting_hasher.reset()
    assert not logged_in(api_login(client, user.email, PASSWORD))
    assert counting_hasher.calls == 0


# --- The admin's login form and the async entry point ------------------------------------------


@pytest.fixture
def staff(account):
    account.is_staff = True
    account.is_superuser = True
    account.save()
    return account


def admin_login(client, email, password, address):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": email, "password": password},
        REMOTE_ADDR=address,
    )


def test_the_admin_login_is_locked_per_account_and_address(staff):
    client = Client()
    for _ in range(5):
        assert admin_login(client, staff.email, "nope", A).status_code == 200  # the form again
    locked = admin_login(client, staff.email, PASSWORD, A)
    assert locked.status_code == 200 and b"errornote" in locked.content
    assert client.get("/admin/").status_code == 302  # still not signed in

    assert admin_login(Client(), staff.email, PASSWORD, B).status_code == 302


def test_the_admin_login_is_limited_per_address(staff):
    client = Client()
    for i in range(12):
        admin_login(client, f"someone{i}@example.com", "nope", "10.0.4.4")
    locked = admin_login(client, staff.email, PASSWORD, "10.0.4.4")
    assert b"errornote" in locked.content
    assert admin_login(client, staff.email, PASSWORD, "10.0.4.5").status_code == 302


def test_the_async_entry_point_is_locked_too(account):
    request = RequestFactory().post("/", REMOTE_ADDR=A)

    def attempt(password):
        return async_to_sync(aauthenticate)(request, username=account.email, password=password)

    for _ in range(5):
        assert attempt("nope") is None
    assert attempt(PASSWORD) is None
    assert (
        async_to_sync(aauthenticate)(
            RequestFactory().post("/", REMOTE_ADDR=B), username=account.email, password=PASSWORD
        )
        == account
    )
