"""Family M, projects (seed 003 "Projects API Endpoints", CONTRACTS.md "Movie platform"):
list with filters, sort and pagination, create, detail, partial update, invitations and their
acceptance, the workflow's progress, and every error code these routes answer."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from accounts.services import tokens_for_user
from projects import workflow
from projects.models import Collaborator, Invitation, Project
from tests.conftest import JsonClient
from tests.factories import UserFactory
from tests.helpers import json_body
from tests.helpers import movie_error as assert_movie_error

pytestmark = pytest.mark.django_db

PROJECTS = "/api/v1/projects"
PROJECT_ID = re.compile(r"^project-[0-9a-f]{16}$")
INVITE_ID = re.compile(r"^invite-[0-9a-f]{16}$")
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
LIST_ITEM_KEYS = {
    "id",
    "title",
    "description",
    "genre",
    "episodeCount",
    "targetAudience",
    "status",
    "progress",
    "createdAt",
    "updatedAt",
    "mediaCount",
    "activeSessionsCount",
    "createdBy",
    "role",
    "projectSettings",
}
DETAIL_KEYS = (LIST_ITEM_KEYS - {"progress"}) | {
    "progress",
    "collaborators",
    "media",
    "activeSessions",
}
PAGINATION_KEYS = {"page", "limit", "total", "totalPages", "hasNext", "hasPrev"}


def bearer(user) -> JsonClient:
    c = JsonClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(user=user).access}")
    return c


def make_project(owner, title="Heist", **fields) -> Project:
    return Project.objects.create(owner=owner, title=title, **fields)


def share(project, user, role="collaborator") -> Collaborator:
    return Collaborator.objects.create(project=project, user=user, role=role)


def detail_url(project_or_id) -> str:
    return f"{PROJECTS}/{getattr(project_or_id, 'pk', project_or_id)}"


def create(client, **body):
    payload = {"title": "My Amazing Movie", **body}
    return client.post(PROJECTS, payload)


def fields_of(error) -> set[str]:
    return {d["field"] for d in error["details"]}


# --- POST /api/v1/projects ----------------------------------------------------------------------


class TestCreate:
    def test_created_project_has_the_seed_shape(self, auth_client, user):
        response = create(
            auth_client,
            description="An epic adventure story about courage and friendship",
            genre="Adventure",
            episodeCount=8,
            targetAudience="PG",
            projectSettings={"aspectRatio": "16:9", "episodeDuration": 25},
        )
        body = json_body(response, 201)
        assert set(body) == {"success", "project"} and body["success"] is True
        project = body["project"]
        assert set(project) == DETAIL_KEYS
        assert PROJECT_ID.match(project["id"])
        assert project["title"] == "My Amazing Movie"
        assert project["genre"] == "Adventure"
        assert project["episodeCount"] == 8
        assert project["targetAudience"] == "PG"
        assert project["status"] == "active"
        assert project["createdBy"] == user.public_id
        assert project["role"] == "owner"
        assert project["projectSettings"] == {"aspectRatio": "16:9", "episodeDuration": 25}
        assert ISO_Z.match(project["createdAt"]) and ISO_Z.match(project["updatedAt"])
        assert project["collaborators"] == [] and project["media"] == []
        assert project["activeSessions"] == []
        assert (project["mediaCount"], project["activeSessionsCount"]) == (0, 0)
        progress = project["progress"]
        assert progress["percentage"] == 0
        assert progress["currentPhase"] == "initial"
        assert progress["completedSteps"] == []
        assert progress["totalSteps"] == workflow.TOTAL_STEPS == 12
        assert [s["id"] for s in progress["workflowSteps"]] == list(workflow.STEP_NAMES)
        assert Project.objects.get(pk=project["id"]).owner == user

    def test_ids_are_random(self, auth_client):
        first = json_body(create(auth_client, title="A"), 201)["project"]["id"]
        second = json_body(create(auth_client, title="B"), 201)["project"]["id"]
        assert first != second
        assert abs(int(first[8:], 16) - int(second[8:], 16)) > 1000

    def test_only_the_title_is_required(self, auth_client):
        project = json_body(auth_client.post(PROJECTS, {"title": "Bare"}), 201)["project"]
        assert (project["description"], project["genre"], project["episodeCount"]) == ("", "", 1)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "title"),
            ({"title": ""}, "title"),
            ({"title": 42}, "title"),
            ({"title": "x" * 201}, "title"),
            ({"title": "T", "episodeCount": 0}, "episodeCount"),
            ({"title": "T", "episodeCount": 51}, "episodeCount"),
            ({"title": "T", "episodeCount": "5"}, "episodeCount"),
            ({"title": "T", "projectSettings": [1, 2]}, "projectSettings"),
            ({"title": "T", "targetAudience": "x" * 33}, "targetAudience"),
        ],
    )
    def test_invalid_fields_are_400_with_details(self, auth_client, body, field):
        error = assert_movie_error(auth_client.post(PROJECTS, body), 400, "VALIDATION_ERROR")
        assert field in fields_of(error)
        assert all(d["message"] for d in error["details"])
        assert not Project.objects.exists()

    def test_episode_count_message_is_the_seeds(self, auth_client):
        error = assert_movie_error(create(auth_client, episodeCount=99), 400, "VALIDATION_ERROR")
        assert error["details"] == [
            {"field": "episodeCount", "message": "Episode count must be between 1 and 50"}
        ]

    def test_every_bad_field_is_reported_at_once(self, auth_client):
        body = {"title": "", "episodeCount": 0, "projectSettings": "x"}
        error = assert_movie_error(auth_client.post(PROJECTS, body), 400, "VALIDATION_ERROR")
        assert fields_of(error) == {"title", "episodeCount", "projectSettings"}

    def test_without_a_token_is_401(self, client):
        assert_movie_error(create(client), 401, "AUTH_REQUIRED")
        assert not Project.objects.exists()

    def test_free_tier_allows_three_projects(self, auth_client, user):
        for n in range(3):
            json_body(create(auth_client, title=f"P{n}"), 201)
        error = assert_movie_error(create(auth_client, title="P3"), 402, "SUBSCRIPTION_LIMIT")
        assert "3" in error["message"]
        assert Project.objects.filter(owner=user).count() == 3

    @pytest.mark.parametrize("tier", ["pro", "enterprise"])
    def test_paid_tiers_have_no_project_limit(self, tier):
        user = UserFactory(tier=tier)
        c = bearer(user)
        for n in range(5):
            json_body(create(c, title=f"P{n}"), 201)

    def test_shared_projects_do_not_count_against_the_limit(self, auth_client, other_user):
        for n in range(3):
            share(make_project(other_user, title=f"Theirs {n}"), UserFactory())
        json_body(create(auth_client), 201)

    def test_duplicate_title_is_409_whatever_the_case(self, auth_client, user):
        json_body(create(auth_client, title="Night Train"), 201)
        error = assert_movie_error(create(auth_client, title="night TRAIN"), 409, "CONFLICT")
        assert "title" in fields_of(error)
        assert Project.objects.filter(owner=user).count() == 1

    def test_another_owner_may_use_the_same_title(self, auth_client, other_auth_client):
        json_body(create(auth_client, title="Night Train"), 201)
        json_body(create(other_auth_client, title="Night Train"), 201)

    def test_the_database_refuses_a_duplicate_title_too(self, user):
        from django.db import IntegrityError, transaction

        make_project(user, title="Twice")
        with pytest.raises(IntegrityError), transaction.atomic():
            make_project(user, title="TWICE")


# --- GET /api/v1/projects -----------------------------------------------------------------------


class TestList:
    def test_item_shape_and_pagination(self, auth_client, user):
        project = make_project(user, description="Fast-paced urban action thriller", genre="Action")
        workflow.step_advance(project=project, step="concept-development")
        workflow.step_advance(project=project, step="setting-selection")
        body = json_body(auth_client.get(PROJECTS))
        assert set(body) == {"success", "projects", "pagination"} and body["success"] is True
        assert body["pagination"] == {
            "page": 1,
            "limit": 20,
            "total": 1,
            "totalPages": 1,
            "hasNext": False,
            "hasPrev": False,
        }
        [item] = body["projects"]
        assert set(item) == LIST_ITEM_KEYS
        assert item["id"] == project.pk
        assert item["progress"] == {
            "percentage": 17,
            "currentPhase": "character-development",
            "completedSteps": 2,
            "totalSteps": 12,
        }
        assert (item["mediaCount"], item["activeSessionsCount"]) == (0, 0)

    def test_only_projects_the_caller_belongs_to(self, auth_client, user, other_user):
        mine = make_project(user, title="Mine")
        shared = make_project(other_user, title="Shared")
        viewed = make_project(other_user, title="Viewed")
        make_project(other_user, title="Private")
        share(shared, user, "collaborator")
        share(viewed, user, "viewer")
        items = json_body(auth_client.get(PROJECTS))["projects"]
        assert {i["id"]: i["role"] for i in items} == {
            mine.pk: "owner",
            shared.pk: "collaborator",
            viewed.pk: "viewer",
        }

    def test_empty_list(self, auth_client):
        body = json_body(auth_client.get(PROJECTS))
        assert body["projects"] == []
        assert body["pagination"]["total"] == 0 and body["pagination"]["totalPages"] == 0

    def test_filters(self, auth_client, user):
        make_project(user, title="Alpha", genre="Action", description="rooftop chase")
        make_project(user, title="Beta", genre="Drama", status="on-hold")
        make_project(user, title="Gamma Rooftops", genre="action", status="archived")

        def titles(query):
            return sorted(
                i["title"] for i in json_body(auth_client.get(PROJECTS + query))["projects"]
            )

        assert titles("?status=on-hold") == ["Beta"]
        assert titles("?genre=ACTION") == ["Alpha", "Gamma Rooftops"]
        assert titles("?search=rooftop") == ["Alpha", "Gamma Rooftops"]
        assert titles("?search=ROOFTOP&status=active") == ["Alpha"]
        assert titles("?search=nothing-like-this") == []

    def test_sorts(self, auth_client, user):
        now = timezone.now()
        b = make_project(user, title="Bravo", created_at=now - dt.timedelta(days=3))
        a = make_project(user, title="alpha", created_at=now - dt.timedelta(days=1))
        c = make_project(user, title="Charlie", created_at=now - dt.timedelta(days=2))
        workflow.step_advance(project=c, step="concept-development")
        workflow.step_advance(project=c, step="setting-selection")
        workflow.step_advance(project=b, step="concept-development")

        def ids(query):
            return [i["id"] for i in json_body(auth_client.get(PROJECTS + query))["projects"]]

        assert ids("") == [a.pk, c.pk, b.pk]  # created_at, newest first
        assert ids("?sort=created_at&order=asc") == [b.pk, c.pk, a.pk]
        assert ids("?sort=progress") == [c.pk, b.pk, a.pk]
        assert ids("?sort=progress&order=asc") == [a.pk, b.pk, c.pk]
        assert ids("?sort=updated_at")[0] == b.pk  # advanced last
        titles = [
            i["title"]
            for i in json_body(auth_client.get(PROJECTS + "?sort=title&order=asc"))["projects"]
        ]
        assert titles == sorted(titles)

    def test_pages(self, auth_client, user):
        created = [make_project(user, title=f"P{n:02}") for n in range(5)]
        newest_first = [p.pk for p in reversed(created)]
        first = json_body(auth_client.get(PROJECTS + "?limit=2"))
        assert [i["id"] for i in first["projects"]] == newest_first[:2]
        assert first["pagination"] == {
            "page": 1,
            "limit": 2,
            "total": 5,
            "totalPages": 3,
            "hasNext": True,
            "hasPrev": False,
        }
        middle = json_body(auth_client.get(PROJECTS + "?limit=2&page=2"))
        assert [i["id"] for i in middle["projects"]] == newest_first[2:4]
        assert middle["pagination"]["hasNext"] and middle["pagination"]["hasPrev"]
        last = json_body(auth_client.get(PROJECTS + "?limit=2&page=3"))
        assert [i["id"] for i in last["projects"]] == newest_first[4:]
        assert not last["pagination"]["hasNext"]
        past = json_body(auth_client.get(PROJECTS + "?limit=2&page=9"))
        assert past["projects"] == [] and past["pagination"]["total"] == 5
        full = json_body(auth_client.get(PROJECTS + "?limit=100"))
        assert full["pagination"]["limit"] == 100 and len(full["projects"]) == 5

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("limit=101", "limit"),
            ("limit=0", "limit"),
            ("limit=ten", "limit"),
            ("page=0", "page"),
            ("page=-1", "page"),
            ("sort=size", "sort"),
            ("order=up", "order"),
            ("status=done", "status"),
        ],
    )
    def test_bad_query_parameters_are_400(self, auth_client, query, field):
        error = assert_movie_error(auth_client.get(f"{PROJECTS}?{query}"), 400, "VALIDATION_ERROR")
        assert field in fields_of(error)

    def test_without_a_token_is_401(self, client):
        assert_movie_error(client.get(PROJECTS), 401, "AUTH_REQUIRED")

    def test_query_count_does_not_grow_with_the_page(
        self, auth_client, user, other_user, django_assert_num_queries
    ):
        make_project(user, title="First")
        # the user, the count, the page (counts and role are subqueries of it)
        with django_assert_num_queries(3):
            json_body(auth_client.get(PROJECTS))
        for n in range(6):
            project = make_project(other_user, title=f"Shared {n}")
            share(project, user, "viewer" if n % 2 else "collaborator")
            share(project, UserFactory())
        with django_assert_num_queries(3):
            assert len(json_body(auth_client.get(PROJECTS))["projects"]) == 7


# --- GET /api/v1/projects/{id} ------------------------------------------------------------------


class TestDetail:
    def test_detail_shape(self, auth_client, user, other_user):
        project = make_project(user, genre="Action", episode_count=5, target_audience="PG-13")
        share(project, other_user, "collaborator")
        workflow.step_advance(project=project, step="concept-development")
        workflow.step_advance(project=project, step="setting-selection")
        workflow.step_advance(project=project, step="character-development")
        body = json_body(auth_client.get(detail_url(project)))
        assert set(body) == {"success", "project"}
        data = body["project"]
        assert set(data) == DETAIL_KEYS
        assert data["createdBy"] == user.public_id
        assert data["progress"]["percentage"] == 25
        assert data["progress"]["currentPhase"] == "character-design"
        assert data["progress"]["completedSteps"] == [
            "concept-development",
            "setting-selection",
            "character-development",
        ]
        assert data["progress"]["nextSteps"] == ["plot-outline", "episode-breakdown"]
        states = {s["id"]: s["status"] for s in data["progress"]["workflowSteps"]}
        assert states["setting-selection"] == "completed"
        assert states["character-design"] == "current"
        assert states["final-review"] == "pending"
        [collaborator] = data["collaborators"]
        assert collaborator["userId"] == other_user.public_id
        assert collaborator["role"] == "collaborator"
        assert ISO_Z.match(collaborator["addedAt"])

    @pytest.mark.parametrize("role", ["collaborator", "viewer"])
    def test_members_read_it(self, other_auth_client, user, other_user, role):
        project = make_project(user)
        share(project, other_user, role)
        data = json_body(other_auth_client.get(detail_url(project)))["project"]
        assert data["id"] == project.pk and data["role"] == role

    def test_a_non_member_gets_403(self, other_auth_client, user):
        project = make_project(user)
        assert_movie_error(other_auth_client.get(detail_url(project)), 403, "ACCESS_DENIED")

    def test_an_unknown_id_is_404(self, auth_client):
        assert_movie_error(
            auth_client.get(detail_url("project-0000000000000000")), 404, "NOT_FOUND"
        )

    def test_without_a_token_is_401(self, client, user):
        assert_movie_error(client.get(detail_url(make_project(user))), 401, "AUTH_REQUIRED")

    def test_query_count(self, auth_client, user, django_assert_num_queries):
        project = make_project(user)
        for _ in range(3):
            share(project, UserFactory())
        # user, project, collaborators with their users, media, active sessions
        with django_assert_num_queries(5):
            body = json_body(auth_client.get(detail_url(project)))
        assert len(body["project"]["collaborators"]) == 3


# --- PUT /api/v1/projects/{id} ------------------------------------------------------------------


class TestUpdate:
    def test_partial_update(self, auth_client, user):
        project = make_project(user, description="old", genre="Action", episode_count=5)
        response = auth_client.put(
            detail_url(project),
            {"title": "Updated Movie Title", "status": "on-hold", "targetAudience": "PG-13"},
        )
        data = json_body(response)["project"]
        assert data["title"] == "Updated Movie Title"
        assert data["status"] == "on-hold"
        assert data["targetAudience"] == "PG-13"
        assert (data["description"], data["genre"], data["episodeCount"]) == ("old", "Action", 5)
        project.refresh_from_db()
        assert project.title == "Updated Movie Title" and project.status == "on-hold"
        assert data["updatedAt"] > data["createdAt"]

    def test_an_empty_body_changes_nothing(self, auth_client, user):
        project = make_project(user)
        assert json_body(auth_client.put(detail_url(project), {}))["project"]["title"] == "Heist"

    def test_keeping_its_own_title_is_not_a_conflict(self, auth_client, user):
        project = make_project(user, title="Same")
        json_body(auth_client.put(detail_url(project), {"title": "SAME"}))

    def test_taking_another_projects_title_is_409(self, auth_client, user):
        make_project(user, title="Taken")
        project = make_project(user, title="Free")
        error = assert_movie_error(
            auth_client.put(detail_url(project), {"title": "taken"}), 409, "CONFLICT"
        )
        assert "title" in fields_of(error)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"status": "deleted"}, "status"),
            ({"title": ""}, "title"),
            ({"episodeCount": 0}, "episodeCount"),
            ({"projectSettings": "wide"}, "projectSettings"),
        ],
    )
    def test_invalid_fields_are_400(self, auth_client, user, body, field):
        project = make_project(user)
        error = assert_movie_error(
            auth_client.put(detail_url(project), body), 400, "VALIDATION_ERROR"
        )
        assert field in fields_of(error)

    def test_a_collaborator_may_write(self, other_auth_client, user, other_user):
        project = make_project(user)
        share(project, other_user, "collaborator")
        data = json_body(other_auth_client.put(detail_url(project), {"genre": "Noir"}))
        assert data["project"]["genre"] == "Noir"

    def test_a_viewer_may_not(self, other_auth_client, user, other_user):
        project = make_project(user)
        share(project, other_user, "viewer")
        assert_movie_error(
            other_auth_client.put(detail_url(project), {"genre": "Noir"}), 403, "ACCESS_DENIED"
        )
        project.refresh_from_db()
        assert project.genre == ""

    def test_a_non_member_gets_403(self, other_auth_client, user):
        project = make_project(user)
        assert_movie_error(
            other_auth_client.put(detail_url(project), {"genre": "Noir"}), 403, "ACCESS_DENIED"
        )

    def test_an_unknown_id_is_404(self, auth_client):
        assert_movie_error(
            auth_client.put(detail_url("project-ffffffffffffffff"), {"genre": "x"}),
            404,
            "NOT_FOUND",
        )

    def test_without_a_token_is_401(self, client, user):
        assert_movie_error(
            client.put(detail_url(make_project(user)), {"genre": "x"}), 401, "AUTH_REQUIRED"
        )


# --- POST /api/v1/projects/{id}/collaborators and invitations -----------------------------------


def invite_url(project) -> str:
    return f"{detail_url(project)}/collaborators"


class TestInvite:
    def test_invitation_has_the_seed_shape(self, auth_client, user):
        project = make_project(user)
        response = auth_client.post(
            invite_url(project), {"email": "Collaborator@Example.com", "role": "collaborator"}
        )
        body = json_body(response, 200)
        assert set(body) == {"success", "invitation"} and body["success"] is True
        invitation = body["invitation"]
        assert set(invitation) == {
            "id",
            "projectId",
            "email",
            "role",
            "status",
            "sentAt",
            "expiresAt",
        }
        assert INVITE_ID.match(invitation["id"])
        assert invitation["email"] == "collaborator@example.com"
        assert (invitation["role"], invitation["status"]) == ("collaborator", "pending")
        sent = dt.datetime.fromisoformat(invitation["sentAt"])
        expires = dt.datetime.fromisoformat(invitation["expiresAt"])
        assert expires - sent == dt.timedelta(days=7)
        stored = Invitation.objects.get(pk=invitation["id"])
        assert stored.invited_by == user and stored.project == project

    def test_an_existing_user_joins_only_on_acceptance(self, auth_client, user, other_user):
        project = make_project(user)
        json_body(
            auth_client.post(invite_url(project), {"email": other_user.email, "role": "viewer"})
        )
        assert not Collaborator.objects.filter(project=project).exists()

    def test_inviting_the_same_address_twice_is_409(self, auth_client, user):
        project = make_project(user)
        json_body(
            auth_client.post(invite_url(project), {"email": "a@example.com", "role": "viewer"})
        )
        assert_movie_error(
            auth_client.post(
                invite_url(project), {"email": "A@EXAMPLE.com", "role": "collaborator"}
            ),
            409,
            "CONFLICT",
        )
        assert Invitation.objects.filter(project=project).count() == 1

    def test_the_same_address_on_another_project_is_fine(self, auth_client, user):
        for title in ("One", "Two"):
            project = make_project(user, title=title)
            json_body(
                auth_client.post(invite_url(project), {"email": "a@example.com", "role": "viewer"})
            )

    def test_an_expired_invitation_is_replaced(self, auth_client, user):
        project = make_project(user)
        old = Invitation.objects.create(
            project=project,
            email="a@example.com",
            role="viewer",
            expires_at=timezone.now() - dt.timedelta(seconds=1),
        )
        new = json_body(
            auth_client.post(invite_url(project), {"email": "a@example.com", "role": "viewer"})
        )["invitation"]
        assert new["id"] != old.pk and new["status"] == "pending"
        old.refresh_from_db()
        assert old.status == "expired"

    def test_inviting_a_member_is_409(self, auth_client, user, other_user):
        project = make_project(user)
        share(project, other_user, "viewer")
        assert_movie_error(
            auth_client.post(invite_url(project), {"email": other_user.email, "role": "viewer"}),
            409,
            "CONFLICT",
        )

    def test_inviting_the_owner_is_400(self, auth_client, user):
        project = make_project(user)
        error = assert_movie_error(
            auth_client.post(invite_url(project), {"email": user.email, "role": "viewer"}),
            400,
            "VALIDATION_ERROR",
        )
        assert fields_of(error) == {"email"}

    @pytest.mark.parametrize(
        ("body", "fields"),
        [
            ({"email": "not-an-address", "role": "viewer"}, {"email"}),
            ({"email": "a@example.com", "role": "owner"}, {"role"}),
            ({}, {"email", "role"}),
        ],
    )
    def test_invalid_bodies_are_400(self, auth_client, user, body, fields):
        project = make_project(user)
        error = assert_movie_error(
            auth_client.post(invite_url(project), body), 400, "VALIDATION_ERROR"
        )
        assert fields_of(error) == fields

    @pytest.mark.parametrize("role", ["collaborator", "viewer"])
    def test_only_the_owner_invites(self, other_auth_client, user, other_user, role):
        project = make_project(user)
        share(project, other_user, role)
        assert_movie_error(
            other_auth_client.post(
                invite_url(project), {"email": "a@example.com", "role": "viewer"}
            ),
            403,
            "ACCESS_DENIED",
        )

    def test_a_non_member_gets_403_and_an_unknown_project_404(self, other_auth_client, user):
        body = {"email": "a@example.com", "role": "viewer"}
        project = make_project(user)
        assert_movie_error(other_auth_client.post(invite_url(project), body), 403, "ACCESS_DENIED")
        assert_movie_error(
            other_auth_client.post(invite_url("project-0123456789abcdef"), body), 404, "NOT_FOUND"
        )

    def test_without_a_token_is_401(self, client, user):
        body = {"email": "a@example.com", "role": "viewer"}
        assert_movie_error(client.post(invite_url(make_project(user)), body), 401, "AUTH_REQUIRED")


class TestAccept:
    def invite(self, owner, email, role="collaborator"):
        project = make_project(owner, title=f"Shared with {email}")
        invitation = json_body(
            bearer(owner).post(invite_url(project), {"email": email.upper(), "role": role})
        )["invitation"]
        return project, invitation["id"]

    def test_the_invited_user_sees_and_accepts_it(self, user, other_user, other_auth_client):
        project, invitation_id = self.invite(user, other_user.email)
        listed = json_body(other_auth_client.get("/api/v1/invitations"))
        assert set(listed) == {"success", "invitations", "pagination"}
        [item] = listed["invitations"]
        assert item["id"] == invitation_id
        assert item["projectTitle"] == project.title and item["invitedBy"] == user.public_id
        body = json_body(other_auth_client.post(f"/api/v1/invitations/{invitation_id}/accept"))
        assert set(body) == {"success", "invitation", "project"}
        assert body["invitation"]["status"] == "accepted"
        assert body["project"]["id"] == project.pk and body["project"]["role"] == "collaborator"
        assert Collaborator.objects.get(project=project).user == other_user
        assert json_body(other_auth_client.get("/api/v1/invitations"))["invitations"] == []
        # now a collaborator: reads it in the list and writes it
        ids = [p["id"] for p in json_body(other_auth_client.get(PROJECTS))["projects"]]
        assert project.pk in ids
        json_body(other_auth_client.put(detail_url(project), {"genre": "Noir"}))

    def test_a_viewer_invitation_reads_but_does_not_write(
        self, user, other_user, other_auth_client
    ):
        project, invitation_id = self.invite(user, other_user.email, role="viewer")
        json_body(other_auth_client.post(f"/api/v1/invitations/{invitation_id}/accept"))
        json_body(other_auth_client.get(detail_url(project)))
        assert_movie_error(
            other_auth_client.put(detail_url(project), {"genre": "x"}), 403, "ACCESS_DENIED"
        )

    def test_someone_else_cannot_accept_it(self, user, other_user):
        _, invitation_id = self.invite(user, other_user.email)
        stranger = bearer(UserFactory())
        assert_movie_error(
            stranger.post(f"/api/v1/invitations/{invitation_id}/accept"), 403, "ACCESS_DENIED"
        )
        assert not Collaborator.objects.exists()

    def test_accepting_twice_is_409(self, user, other_user, other_auth_client):
        _, invitation_id = self.invite(user, other_user.email)
        url = f"/api/v1/invitations/{invitation_id}/accept"
        json_body(other_auth_client.post(url))
        assert_movie_error(other_auth_client.post(url), 409, "CONFLICT")
        assert Collaborator.objects.count() == 1

    def test_an_expired_invitation_is_409(self, user, other_user, other_auth_client):
        _, invitation_id = self.invite(user, other_user.email)
        Invitation.objects.filter(pk=invitation_id).update(
            expires_at=timezone.now() - dt.timedelta(minutes=1)
        )
        error = assert_movie_error(
            other_auth_client.post(f"/api/v1/invitations/{invitation_id}/accept"), 409, "CONFLICT"
        )
        assert "expired" in error["message"]
        assert Invitation.objects.get(pk=invitation_id).status == "expired"
        assert json_body(other_auth_client.get("/api/v1/invitations"))["invitations"] == []

    def test_an_unknown_invitation_is_404(self, auth_client):
        assert_movie_error(
            auth_client.post("/api/v1/invitations/invite-0000000000000000/accept"),
            404,
            "NOT_FOUND",
        )

    def test_without_a_token_is_401(self, client):
        assert_movie_error(client.get("/api/v1/invitations"), 401, "AUTH_REQUIRED")
        assert_movie_error(
            client.post("/api/v1/invitations/invite-0000000000000000/accept"), 401, "AUTH_REQUIRED"
        )

    def test_invitation_list_query_count(self, user, other_user, django_assert_num_queries):
        for _ in range(4):
            self.invite(UserFactory(), other_user.email)
        c = bearer(other_user)
        with django_assert_num_queries(3):  # the user, the count, the page with projects
            assert len(json_body(c.get("/api/v1/invitations"))["invitations"]) == 4


# --- Rate limit on these routes -----------------------------------------------------------------


def test_projects_routes_answer_429_past_the_tier_limit(auth_client, user, settings):
    settings.MOVIE_RATE_LIMITS = {**settings.MOVIE_RATE_LIMITS, "free": 3}
    project = make_project(user)
    json_body(auth_client.get(PROJECTS))
    json_body(auth_client.get(detail_url(project)))
    json_body(auth_client.put(detail_url(project), {"genre": "Noir"}))
    response = auth_client.put(detail_url(project), {"genre": "Western"})
    assert_movie_error(response, 429, "RATE_LIMITED")
    assert int(response["Retry-After"]) >= 1
    project.refresh_from_db()
    assert project.genre == "Noir"


# --- The workflow ---------------------------------------------------------------------------


class TestWorkflow:
    def test_steps_are_the_seeds_names_in_order(self):
        assert workflow.STEP_NAMES[:5] == (
            "concept-development",
            "setting-selection",
            "character-development",
            "character-design",
            "plot-outline",
        )
        assert len(set(workflow.STEP_NAMES)) == workflow.TOTAL_STEPS == 12

    @pytest.mark.parametrize(
        ("done", "percent"), [(0, 0), (1, 8), (2, 17), (3, 25), (6, 50), (12, 100)]
    )
    def test_percentage_is_completed_over_total_rounded(self, done, percent):
        assert workflow.percentage(done) == percent

    def test_advance_completes_the_step_and_moves_on(self, user):
        project = make_project(user)
        progress = workflow.step_advance(project=project, step="concept-development")
        assert progress.completed_steps == ["concept-development"]
        assert progress.current_phase == "setting-selection"
        assert progress.next_steps == ["character-development", "character-design"]
        project.refresh_from_db()
        assert project.current_step == "setting-selection" and project.completed_count == 1

    def test_advance_follows_a_suggested_next_step(self, user):
        project = make_project(user)
        progress = workflow.step_advance(
            project=project, step="concept-development", next_step="plot-outline"
        )
        assert progress.current_phase == "plot-outline"
        # the skipped steps stay open and come back after the last one
        workflow.step_advance(project=project, step="plot-outline")
        assert project.current_step == "episode-breakdown"

    def test_completing_a_step_twice_changes_nothing(self, user):
        project = make_project(user)
        workflow.step_advance(project=project, step="concept-development")
        progress = workflow.step_advance(project=project, step="concept-development")
        assert progress.completed_steps == ["concept-development"] and progress.percentage == 8

    def test_every_step_done_is_complete(self, user):
        project = make_project(user)
        for step in workflow.STEP_NAMES:
            progress = workflow.step_advance(project=project, step=step)
        assert progress.percentage == 100
        assert progress.current_phase == "complete" and progress.next_steps == []

    def test_an_unknown_step_is_refused(self, user):
        from core.errors import ValidationFailed

        project = make_project(user)
        with pytest.raises(ValidationFailed):
            workflow.step_advance(project=project, step="catering")
        project.refresh_from_db()
        assert project.completed_steps == []


# --- What a project shows of its media ------------------------------------------------------


def add_media(project, name, status="active", media_type="concept_art"):
    from media_library.models import Media

    return Media.objects.create(
        project=project,
        original_filename=name,
        file=f"media/{project.pk}/{name}",
        mime_type="image/png",
        size=10,
        media_type=media_type,
        status=status,
    )


class TestProjectMedia:
    def test_list_counts_media_that_are_not_archived(self, auth_client, user):
        project = make_project(user)
        add_media(project, "a.png")
        add_media(project, "b.png", status="processing")
        add_media(project, "c.png", status="archived")
        make_project(user, title="Empty")
        counts = {
            i["title"]: i["mediaCount"] for i in json_body(auth_client.get(PROJECTS))["projects"]
        }
        assert counts == {"Heist": 2, "Empty": 0}

    def test_detail_lists_them_newest_first(self, auth_client, user):
        project = make_project(user)
        first = add_media(project, "first.png", media_type="style_reference")
        second = add_media(project, "second.png")
        add_media(project, "gone.png", status="archived")
        data = json_body(auth_client.get(detail_url(project)))["project"]
        assert data["mediaCount"] == 2
        assert [m["id"] for m in data["media"]] == [second.pk, first.pk]
        item = data["media"][1]
        assert set(item) == {"id", "filename", "mediaType", "uploadedAt"}
        assert (item["filename"], item["mediaType"]) == ("first.png", "style_reference")
        assert ISO_Z.match(item["uploadedAt"])


# --- What a project shows of its chat sessions ----------------------------------------------


def add_session(project, user, *, status="active", idle=dt.timedelta(0), step="plot-outline"):
    from chats.models import Chat, ChatKind

    return Chat.all_chats.create(
        kind=ChatKind.PROJECT_SESSION,
        public_id=f"session-{Chat.all_chats.count():016x}",
        title=project.title,
        owner=user,
        project=project,
        current_step=step,
        status=status,
        last_activity=timezone.now() - idle,
    )


class TestProjectSessions:
    def test_counts_and_lists_active_sessions_only(self, auth_client, user, other_user, settings):
        settings.MOVIE_SESSION_IDLE_SECONDS = 3600
        project = make_project(user)
        share(project, other_user)
        older = add_session(project, user, idle=dt.timedelta(minutes=5))
        newer = add_session(project, other_user, step="character-design")
        add_session(project, user, status="completed")
        add_session(project, user, idle=dt.timedelta(hours=2))  # idle: paused
        [item] = json_body(auth_client.get(PROJECTS))["projects"]
        assert item["activeSessionsCount"] == 2
        data = json_body(auth_client.get(detail_url(project)))["project"]
        assert data["activeSessionsCount"] == 2
        assert [s["id"] for s in data["activeSessions"]] == [newer.public_id, older.public_id]
        first = data["activeSessions"][0]
        assert set(first) == {"id", "userId", "currentStep", "lastActivity"}
        assert (first["userId"], first["currentStep"]) == (other_user.public_id, "character-design")
        assert ISO_Z.match(first["lastActivity"])

    def test_the_counts_cost_no_extra_query(self, auth_client, user, django_assert_num_queries):
        for n in range(3):
            project = make_project(user, title=f"P{n}")
            add_session(project, user)
            add_media(project, f"m{n}.png")
        with django_assert_num_queries(3):
            items = json_body(auth_client.get(PROJECTS))["projects"]
        assert [(i["mediaCount"], i["activeSessionsCount"]) for i in items] == [(1, 1)] * 3
