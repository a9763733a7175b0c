"""Family M's envelope (seed 003 "Error Responses", CONTRACTS.md "Families"): `"success": true`
on every success body, the error body with per-field details, and one request id per request,
sent as X-Request-ID and repeated in the error body (the client's own when it sends a sane
one)."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.services import tokens_for_user
from config.api.base import MovieApiView
from projects.models import Invitation, Project
from tests.conftest import JsonClient
from tests.factories import UserFactory
from tests.helpers import json_body
from tests.helpers import movie_error as assert_movie_error

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's password
GENERATED_ID = re.compile(r"^req-[0-9a-f]{16}$")
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def movie_views() -> set[str]:
    """Every routed view class of family M (walks the URL tree)."""
    found: set[str] = set()

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "view_class", None)
                if view is not None and issubclass(view, MovieApiView):
                    found.add(f"{view.__module__}.{view.__qualname__}")

    walk(get_resolver().url_patterns)
    return found


# --- success: true -------------------------------------------------------------------------


def bearer(user) -> JsonClient:
    c = JsonClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(user=user).access}")
    return c


def _success_routes(user):
    """(caller, method, path, body, status) of a success answer of each auth and project route."""
    project = Project.objects.create(owner=user, title="Envelope")
    invitee = UserFactory()
    invitation = Invitation.objects.create(project=project, email=invitee.email, role="viewer")
    refresh = tokens_for_user(user=user).refresh
    other_refresh = tokens_for_user(user=user).refresh
    login = {"email": user.email, "password": PASSWORD}
    invite = {"email": "new@example.com", "role": "viewer"}
    return [
        (None, "POST", "/api/auth/login", login, 200),
        (None, "POST", "/api/auth/refresh", {"refreshToken": refresh}, 200),
        (None, "POST", "/api/auth/logout", {"refreshToken": other_refresh}, 200),
        (user, "GET", "/api/v1/projects", None, 200),
        (user, "POST", "/api/v1/projects", {"title": "Second"}, 201),
        (user, "GET", f"/api/v1/projects/{project.pk}", None, 200),
        (user, "PUT", f"/api/v1/projects/{project.pk}", {"genre": "Noir"}, 200),
        (user, "POST", f"/api/v1/projects/{project.pk}/collaborators", invite, 200),
        (invitee, "GET", "/api/v1/invitations", None, 200),
        (invitee, "POST", f"/api/v1/invitations/{invitation.pk}/accept", None, 200),
    ]


def test_every_success_body_starts_with_success_true(user):
    for caller, method, path, body, status in _success_routes(user):
        c = bearer(caller) if caller is not None else JsonClient()
        response = c.generic(method, path, body if body is not None else "")
        data = json_body(response, status)
        assert next(iter(data)) == "success" and data["success"] is True, (path, data)
        assert GENERATED_ID.match(response["X-Request-ID"]), path
        for header in ("Limit", "Remaining", "Reset", "Tier"):
            assert response[f"X-RateLimit-{header}"], (path, header)


def test_the_success_walk_covers_every_projects_and_auth_route():
    covered = {
        "accounts.apis.LoginApi",
        "accounts.apis.RefreshApi",
        "accounts.apis.LogoutApi",
        "projects.apis.ProjectListCreateApi",
        "projects.apis.ProjectDetailApi",
        "projects.apis.ProjectCollaboratorsApi",
        "projects.apis.InvitationListApi",
        "projects.apis.InvitationAcceptApi",
    }
    mine = {v for v in movie_views() if v.startswith(("accounts.", "projects."))}
    assert mine == covered


def test_every_movie_view_renders_success_through_the_movie_renderer():
    from config.api.renderers import MovieJSONRenderer

    for dotted in movie_views():
        module, _, name = dotted.rpartition(".")
        view = getattr(__import__(module, fromlist=[name]), name)
        assert view.renderer_classes[0] is MovieJSONRenderer or issubclass(
            view.renderer_classes[0], MovieJSONRenderer
        ), dotted


def test_the_renderer_does_not_touch_error_or_list_bodies():
    from config.api.renderers import MovieJSONRenderer

    class Response:
        def __init__(self, status_code):
            self.status_code = status_code

    render = MovieJSONRenderer().render
    assert render({"a": 1}, renderer_context={"response": Response(200)}) == (
        b'{"success":true,"a":1}'
    )
    assert render({"success": False}, renderer_context={"response": Response(404)}) == (
        b'{"success":false}'
    )
    assert render([1, 2], renderer_context={"response": Response(200)}) == b"[1,2]"


# --- request ids ----------------------------------------------------------------------------


def test_each_request_gets_its_own_generated_id(auth_client):
    first = auth_client.get("/api/v1/projects")
    second = auth_client.get("/api/v1/projects")
    assert GENERATED_ID.match(first["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.parametrize("sent", ["abc-123", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "trace:1.2_3"])
def test_a_sane_client_id_is_echoed_on_success_and_error(auth_client, sent):
    ok = auth_client.get("/api/v1/projects", HTTP_X_REQUEST_ID=sent)
    assert ok.status_code == 200 and ok["X-Request-ID"] == sent
    bad = auth_client.get("/api/v1/projects/project-nope", HTTP_X_REQUEST_ID=sent)
    assert_movie_error(bad, 404, "NOT_FOUND")
    assert bad["X-Request-ID"] == sent and bad.json()["requestId"] == sent


@pytest.mark.parametrize("sent", ["", "has space", "x" * 129, "semi;colon", "<script>"])
def test_an_insane_client_id_is_replaced(auth_client, sent):
    response = auth_client.get("/api/v1/projects/project-nope", HTTP_X_REQUEST_ID=sent)
    body = response.json()
    assert GENERATED_ID.match(response["X-Request-ID"])
    assert body["requestId"] == response["X-Request-ID"]


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/v1/projects", 401, "AUTH_REQUIRED"),  # no token
        ("GET", "/api/v1/__nope__", 404, "NOT_FOUND"),  # no such route
        ("GET", "/api/auth/__nope__", 404, "NOT_FOUND"),
        ("GET", "/api/auth/login", 405, "METHOD_NOT_ALLOWED"),
        ("POST", "/api/auth/login", 400, "VALIDATION_ERROR"),
    ],
)
def test_error_bodies_carry_the_header_id(client, method, path, status, code):
    response = client.generic(method, path, "")
    assert_movie_error(response, status, code)
    body = response.json()
    assert GENERATED_ID.match(body["requestId"])
    assert response["X-Request-ID"] == body["requestId"]
    assert ISO_Z.match(body["timestamp"])


def test_an_unknown_route_under_v1_is_the_movie_body_with_every_header(auth_client):
    response = auth_client.get("/api/v1/no/such/route", HTTP_X_REQUEST_ID="mine-1")
    error = assert_movie_error(response, 404, "NOT_FOUND")
    assert error["details"] == []
    assert response["X-Request-ID"] == "mine-1" and response.json()["requestId"] == "mine-1"
    assert response["X-RateLimit-Tier"] == "free"  # the token's user is counted
    assert int(response["X-RateLimit-Remaining"]) == 99


def test_an_unknown_method_on_a_route_is_405_in_the_movie_body(auth_client):
    response = auth_client.delete("/api/v1/projects")
    assert_movie_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response["Allow"]


def test_malformed_json_is_400_in_the_movie_body(auth_client):
    response = auth_client.generic("POST", "/api/v1/projects", b"{not json")
    error = assert_movie_error(response, 400, "VALIDATION_ERROR")
    assert "json" in error["message"].lower()


def test_a_body_that_is_not_an_object_is_400(auth_client):
    assert_movie_error(auth_client.post("/api/v1/projects", [1, 2]), 400, "VALIDATION_ERROR")


def test_validation_details_name_each_field(auth_client):
    response = auth_client.post(
        "/api/v1/projects", {"title": "", "episodeCount": 0, "projectSettings": 3}
    )
    error = assert_movie_error(response, 400, "VALIDATION_ERROR")
    by_field = {d["field"]: d["message"] for d in error["details"]}
    assert set(by_field) == {"title", "episodeCount", "projectSettings"}
    assert by_field["episodeCount"] == "Episode count must be between 1 and 50"
    assert all(isinstance(m, str) and m for m in by_field.values())
    for field in by_field:
        assert field in error["message"]


def test_login_failure_is_401_in_the_movie_body(client, user):
    response = client.post("/api/auth/login", {"email": user.email, "password": "wrong"})
    assert_movie_error(response, 401, "AUTH_REQUIRED")
    assert response["X-RateLimit-Tier"] == "anonymous"
