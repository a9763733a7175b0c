"""CORS: family A accepts any origin, as its seed says; the other families are not opened."""

import pytest

pytestmark = pytest.mark.django_db

ORIGIN = "https://embed.example.org"


def _preflight(client, path):
    return client.options(
        path,
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, authorization",
    )


@pytest.mark.parametrize("path", ["/api/health", "/api/ping", "/api/chats", "/api/chats/abc"])
def test_assistant_family_allows_any_origin_with_credentials(client, path):
    response = _preflight(client, path)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert response["Access-Control-Allow-Credentials"] == "true"
    allowed = response["Access-Control-Allow-Methods"]
    assert {"GET", "POST", "PUT", "DELETE"} <= {m.strip() for m in allowed.split(",")}
    headers = {h.strip().lower() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "authorization"} <= headers


def test_simple_request_to_assistant_family_carries_the_origin(client):
    response = client.get("/api/health", HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.parametrize("path", ["/api/messages", "/api/auth/login", "/api/v1/projects"])
def test_other_families_are_not_opened(client, path):
    response = _preflight(client, path)
    assert "Access-Control-Allow-Origin" not in response
