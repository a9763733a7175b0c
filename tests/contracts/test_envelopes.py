"""Every error of a family comes in that family's body (CONTRACTS.md, "Families").

G: `{"error": "<message>"}`
M: `{"success": false, "error": {"code", "message", "details": [...]}, "requestId", "timestamp"}`
A: `{"statusCode": <status>, "statusMessage": "<message>"}`

Checked for an unknown route under the family's prefix, a malformed JSON body, an unknown id,
405 (with Allow), 413, 415, 429 (with Retry-After), 401 and an unhandled exception. Never HTML,
never a traceback, never another family's envelope, always application/json.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid

import pytest

from characters.models import Character
from tests.contracts.envelope_urls import (
    MOVIE_PRIVATE_PATH,
    PLAIN_MISSING_PATHS,
    PLAIN_PATHS,
    PROBE_PATHS,
    SECRET,
)
from tests.factories import CharacterFactory

pytestmark = pytest.mark.django_db

PROBES = pytest.mark.urls("tests.contracts.envelope_urls")
FAMILIES = ("G", "A", "M")

MOVIE_CODES = {
    400: "VALIDATION_ERROR",
    401: "AUTH_REQUIRED",
    403: "ACCESS_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
}


def send(client, method, path, body=None, content_type="application/json", **extra):
    """Send `body` as is when it is a string, else as JSON."""
    if body is None:
        data = ""
    elif isinstance(body, str | bytes):
        data = body
    else:
        data = json.dumps(body)
    return client.generic(method, path, data, content_type=content_type, **extra)


def assert_plain_json(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].split(";")[0].strip() == "application/json"
    text = response.content.decode("utf-8", errors="replace")
    lowered = text.lower()
    assert "<html" not in lowered and "<!doctype" not in lowered
    assert "traceback" not in lowered
    assert SECRET not in text
    return response.json()


def assert_game_error(response, status):
    body = assert_plain_json(response, status)
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert isinstance(body["error"], str) and body["error"]
    return body["error"]


def assert_assistant_error(response, status):
    body = assert_plain_json(response, status)
    assert isinstance(body, dict) and set(body) == {"statusCode", "statusMessage"}, body
    assert body["statusCode"] == status
    assert isinstance(body["statusMessage"], str) and body["statusMessage"]
    return body["statusMessage"]


def assert_movie_error(response, status, code=None):
    body = assert_plain_json(response, status)
    assert isinstance(body, dict)
    assert set(body) == {"success", "error", "requestId", "timestamp"}, body
    assert body["success"] is False
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == (code or MOVIE_CODES[status])
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    for detail in error["details"]:
        assert set(detail) == {"field", "message"}
    assert isinstance(body["requestId"], str) and body["requestId"]
    stamp = dt.datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
    assert stamp.tzinfo is not None
    return error["message"]


def assert_family_error(family, response, status):
    """The family's exact error shape; returns the human message."""
    if family == "G":
        return assert_game_error(response, status)
    if family == "A":
        return assert_assistant_error(response, status)
    return assert_movie_error(response, status)


# --- Unknown routes -----------------------------------------------------------------------------

UNKNOWN_ROUTES = [
    ("G", "GET", "/api/nope"),
    ("G", "GET", "/api"),
    ("G", "GET", "/api/session/a/b/c"),
    ("G", "POST", "/api/messages/extra"),
    ("G", "GET", "/api/messages/"),
    ("G", "DELETE", "/api/characters/1/2/3"),
    ("G", "GET", "/api/games/1/characters/2/3"),
    ("M", "GET", "/api/v1/__nope__"),
    ("M", "POST", "/api/v1/__nope__/deeper"),
    ("M", "GET", "/api/v1"),
    ("M", "GET", "/api/auth/__nope__"),
    ("M", "POST", "/api/auth/login/"),
    ("A", "GET", "/api/chats/no/such/route"),
    ("A", "POST", "/api/chats/no/such/route"),
    ("A", "GET", "/api/ping/extra"),
    ("A", "GET", "/api/health/extra"),
]


@pytest.mark.parametrize(("family", "method", "path"), UNKNOWN_ROUTES)
def test_unknown_route_answers_the_family_not_found_body(client, family, method, path):
    response = send(client, method, path, {"x": 1} if method == "POST" else None)
    body = assert_plain_json(response, 404)
    if family == "G":
        assert body == {"error": "Not found"}
    elif family == "A":
        assert body == {"statusCode": 404, "statusMessage": "Not found"}
    else:
        assert body["error"] == {"code": "NOT_FOUND", "message": "Not found", "details": []}
        assert_movie_error(response, 404, "NOT_FOUND")


def test_movie_request_ids_differ_between_responses(client):
    first = client.get("/api/v1/__nope__").json()["requestId"]
    second = client.get("/api/v1/__nope__").json()["requestId"]
    assert first != second


# --- Malformed JSON -----------------------------------------------------------------------------

MALFORMED = ['{"name": ', "{'single': 'quotes'}", "[1, 2", "nul", '{"a": 1}}']


@pytest.mark.parametrize("raw", MALFORMED)
@pytest.mark.parametrize(
    ("family", "method", "path"),
    [
        ("G", "POST", "/api/games/1/characters"),
        ("G", "POST", "/api/messages"),
        ("G", "POST", "/api/session/start"),
        ("M", "POST", "/api/auth/login"),
        ("M", "POST", "/api/auth/refresh"),
    ],
)
def test_malformed_json_on_real_routes(client, family, method, path, raw):
    message = assert_family_error(family, send(client, method, path, raw), 400)
    assert "json" in message.lower()
    assert Character.objects.count() == 0


@PROBES
@pytest.mark.parametrize("raw", MALFORMED)
@pytest.mark.parametrize("family", FAMILIES)
def test_malformed_json_on_every_family(client, family, raw):
    message = assert_family_error(family, send(client, "POST", PROBE_PATHS[family], raw), 400)
    assert "json" in message.lower()


@PROBES
@pytest.mark.parametrize("family", FAMILIES)
def test_well_formed_json_reaches_the_probe(client, family):
    response = send(client, "POST", PROBE_PATHS[family], {"hello": "world"})
    assert response.status_code == 200
    # M's renderer puts "success": true in front of every success body (seed 003).
    expected = {"success": True} if family == "M" else {}
    assert response.json() == {**expected, "received": {"hello": "world"}}


def test_movie_malformed_json_has_no_field_details(client):
    response = send(client, "POST", "/api/auth/login", '{"email": ')
    assert_movie_error(response, 400, "VALIDATION_ERROR")
    assert response.json()["error"]["details"] == []


# --- Unknown ids (404 raised by a view) ---------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/characters/999999",
        "/api/characters/not-a-number",
        f"/api/session/{uuid.uuid4()}",
        "/api/session/not-a-uuid",
        f"/api/progress/{uuid.uuid4()}",
        f"/api/messages?sessionId={uuid.uuid4()}",
        "/api/history/999999",
        "/api/games/999999/characters",
    ],
)
def test_game_unknown_id(client, path):
    message = assert_game_error(client.get(path), 404)
    assert "not found" in message.lower()


@PROBES
@pytest.mark.parametrize("family", FAMILIES)
def test_domain_not_found_in_every_family(client, family):
    message = assert_family_error(family, client.delete(PROBE_PATHS[family]), 404)
    assert message == "Probe 123 not found"


@PROBES
@pytest.mark.parametrize("family", FAMILIES)
def test_http404_from_a_plain_django_view(client, family):
    message = assert_family_error(family, client.get(PLAIN_MISSING_PATHS[family]), 404)
    assert message == "Not found"


# --- 405 ----------------------------------------------------------------------------------------

METHOD_NOT_ALLOWED = [
    ("G", "PUT", "/api/messages", {"GET", "POST"}),
    ("G", "DELETE", "/api/session/start", {"POST"}),
    ("G", "POST", "/api/characters/game/1", {"PATCH"}),
    ("G", "PUT", "/api/games/1/characters", {"GET", "POST"}),
    ("M", "GET", "/api/auth/login", {"POST"}),
    ("M", "PUT", "/api/auth/refresh", {"POST"}),
    ("A", "POST", "/api/ping", {"GET"}),
    ("A", "DELETE", "/api/health", {"GET"}),
]


@pytest.mark.parametrize(("family", "method", "path", "allowed"), METHOD_NOT_ALLOWED)
def test_method_not_allowed_with_allow_header(client, family, method, path, allowed):
    response = send(client, method, path, {"x": 1} if method != "GET" else None)
    message = assert_family_error(family, response, 405)
    assert method in message
    allow = {m.strip() for m in response["Allow"].split(",")}
    assert allowed <= allow
    assert method not in allow


# --- 413 ----------------------------------------------------------------------------------------

LIMIT = 256


@pytest.fixture
def small_body_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT
    return LIMIT


def padded(size, **fields):
    """A JSON object of exactly `size` bytes."""
    base = json.dumps({**fields, "pad": ""})
    return json.dumps({**fields, "pad": "x" * (size - len(base))})


@PROBES
@pytest.mark.parametrize(
    ("family", "path"),
    [
        ("G", "/api/games/1/characters"),
        ("G", "/api/messages"),
        ("G", PROBE_PATHS["G"]),
        ("M", "/api/auth/login"),
        ("M", PROBE_PATHS["M"]),
        ("A", PROBE_PATHS["A"]),
        ("A", "/api/ping"),
    ],
)
def test_body_over_the_limit_is_413(client, small_body_limit, family, path):
    body = padded(LIMIT + 1, name="Aria", userId=1)
    assert len(body) == LIMIT + 1
    message = assert_family_error(family, send(client, "POST", path, body), 413)
    assert "too large" in message.lower()
    assert Character.objects.count() == 0


@PROBES
@pytest.mark.parametrize("family", FAMILIES)
def test_body_at_the_limit_is_accepted(client, small_body_limit, family):
    body = padded(LIMIT, name="Aria")
    assert len(body) == LIMIT
    response = send(client, "POST", PROBE_PATHS[family], body)
    assert response.status_code == 200
    assert response.json()["received"]["name"] == "Aria"


def test_oversized_character_is_not_written(client, small_body_limit):
    body = padded(LIMIT * 4, name="Aria", userId=1, **{"class": "ranger"})
    assert_game_error(send(client, "PATCH", "/api/characters/1", body), 413)
    assert_game_error(send(client, "POST", "/api/games/1/characters", body), 413)
    assert Character.objects.count() == 0


# --- 415 ----------------------------------------------------------------------------------------

NOT_JSON = [
    ("text/plain", "name=Aria"),
    ("application/x-www-form-urlencoded", "name=Aria&class=ranger"),
    ("application/xml", "<character><name>Aria</name></character>"),
]


@pytest.mark.parametrize(("content_type", "raw"), NOT_JSON)
@pytest.mark.parametrize(
    ("family", "method", "path"),
    [
        ("G", "POST", "/api/games/1/characters"),
        ("G", "POST", "/api/messages"),
        ("G", "PATCH", "/api/characters/1"),
        ("M", "POST", "/api/auth/login"),
        ("M", "POST", "/api/auth/refresh"),
    ],
)
def test_body_that_is_not_json_is_415(client, family, method, path, content_type, raw):
    response = send(client, method, path, raw, content_type=content_type)
    message = assert_family_error(family, response, 415)
    assert content_type in message
    assert Character.objects.count() == 0


@PROBES
@pytest.mark.parametrize(("content_type", "raw"), NOT_JSON)
@pytest.mark.parametrize("family", FAMILIES)
def test_body_that_is_not_json_is_415_in_every_family(client, family, content_type, raw):
    response = send(client, "POST", PROBE_PATHS[family], raw, content_type=content_type)
    assert content_type in assert_family_error(family, response, 415)


def test_multipart_body_on_a_json_route_is_415(client):
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    raw = encode_multipart(BOUNDARY, {"name": "Aria", "class": "ranger", "userId": "1"})
    response = send(client, "POST", "/api/games/1/characters", raw, content_type=MULTIPART_CONTENT)
    assert "multipart/form-data" in assert_game_error(response, 415)
    assert Character.objects.count() == 0


# --- 429 ----------------------------------------------------------------------------------------


@pytest.fixture
def tight_rates(settings):
    # The minute windows stand still: tests/conftest.py holds the rate clock for every test.
    settings.THROTTLE_RATES = {"game": "2/min", "assistant": "2/min", "auth_login": "2/min"}


def assert_retry_after(response):
    assert int(response["Retry-After"]) >= 1


def test_game_rate_limit(client, tight_rates):
    character = CharacterFactory()
    path = f"/api/characters/{character.pk}"
    assert client.get(path).status_code == 200
    assert client.get(path).status_code == 200
    response = client.get(path)
    message = assert_game_error(response, 429)
    assert "too many requests" in message.lower()
    assert_retry_after(response)


def test_game_rate_limit_counts_per_token_holder(client, auth_client, tight_rates):
    character = CharacterFactory()
    path = f"/api/characters/{character.pk}"
    for _ in range(2):
        assert client.get(path).status_code == 200
    assert_game_error(client.get(path), 429)
    assert auth_client.get(path).status_code == 200


def test_movie_login_rate_limit(client, tight_rates):
    credentials = {"email": "nobody@example.com", "password": "wrong-password"}
    for _ in range(2):
        assert_movie_error(client.post("/api/auth/login", credentials), 401, "AUTH_REQUIRED")
    response = client.post("/api/auth/login", credentials)
    assert_movie_error(response, 429, "RATE_LIMITED")
    assert_retry_after(response)


@PROBES
@pytest.mark.parametrize("family", ["G", "A"])
def test_rate_limit_in_the_family_body(client, tight_rates, family):
    for _ in range(2):
        assert send(client, "POST", PROBE_PATHS[family], {"n": 1}).status_code == 200
    response = send(client, "POST", PROBE_PATHS[family], {"n": 1})
    message = assert_family_error(family, response, 429)
    assert "too many requests" in message.lower()
    assert_retry_after(response)


def test_rates_off_means_no_limit(client, settings):
    settings.THROTTLE_RATES = {"game": None, "assistant": None, "auth_login": None}
    character = CharacterFactory()
    for _ in range(10):
        assert client.get(f"/api/characters/{character.pk}").status_code == 200


# --- 401 ----------------------------------------------------------------------------------------


@PROBES
@pytest.mark.parametrize(
    "authorization", [None, "Bearer not-a-jwt", "Bearer ", "Basic dXNlcjpwYXNz"]
)
def test_movie_route_without_a_valid_token_is_401(client, authorization):
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    response = client.get(MOVIE_PRIVATE_PATH, **extra)
    assert_movie_error(response, 401, "AUTH_REQUIRED")


@PROBES
def test_movie_route_with_a_token_succeeds(auth_client):
    response = auth_client.get(MOVIE_PRIVATE_PATH)
    assert response.status_code == 200
    assert response.json() == {"success": True}


@PROBES
@pytest.mark.parametrize("family", FAMILIES)
def test_bad_token_is_401_in_the_family_body(client, family):
    response = send(
        client, "POST", PROBE_PATHS[family], {"n": 1}, HTTP_AUTHORIZATION="Bearer not-a-jwt"
    )
    assert_family_error(family, response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


# --- 500 ----------------------------------------------------------------------------------------


@PROBES
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("paths", [PROBE_PATHS, PLAIN_PATHS], ids=["drf-view", "plain-view"])
def test_unhandled_exception_is_a_500_in_the_family_body(client, caplog, family, paths):
    with caplog.at_level(logging.ERROR):
        response = client.get(paths[family])
    message = assert_family_error(family, response, 500)
    assert message == "Internal Server Error"
    # The detail is logged for the operator, never sent to the client.
    assert any(record.exc_info and SECRET in str(record.exc_info[1]) for record in caplog.records)


@PROBES
def test_unhandled_exception_bodies_are_exact(client):
    assert client.get(PROBE_PATHS["G"]).json() == {"error": "Internal Server Error"}
    assert client.get(PROBE_PATHS["A"]).json() == {
        "statusCode": 500,
        "statusMessage": "Internal Server Error",
    }
    assert client.get(PROBE_PATHS["M"]).json()["error"] == {
        "code": "INTERNAL_ERROR",
        "message": "Internal Server Error",
        "details": [],
    }


# --- Successes stay in their family's shape ------------------------------------------------------


def test_small_routes_answer_json(client):
    for path, expected in (("/api/ping", "ok"), ("/api/health", "running")):
        response = client.get(path)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/json")
        assert response.json() == expected
