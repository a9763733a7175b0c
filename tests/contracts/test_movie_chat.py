"""Contract tests of the movie platform's workflow chat, `/api/v1/chat/*` (seed 003 "Chat API
Endpoints", CONTRACTS.md "Movie platform").

Every route through HTTP with a Bearer token: bodies, statuses, M's error envelope and codes,
headers, membership (owner and collaborators write, viewers read, others 403), the choice
rules, and the model's failures through tests/fake_openai.py. The default model is the offline
provider. Turns run on the engine's own tasks and threads, so the tests use real transactions.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from accounts.services import tokens_for_user
from chats.models import Chat, ChatKind, Message
from projects import workflow
from projects.models import Collaborator, Project
from tests.conftest import JsonClient
from tests.factories import ChatFactory, UserFactory
from tests.helpers import json_body, movie_error

pytestmark = pytest.mark.django_db(transaction=True)

SESSION_ID = re.compile(r"^session-[0-9a-f]{24}$")
MSG_ID = re.compile(r"^msg-[0-9a-f]{20}$")
CHOICE_ID = re.compile(r"^choice-[0-9a-f]{8}$")
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
CHOICE_KEYS = {"id", "title", "description", "metadata"}
STEPS = list(workflow.STEP_NAMES)


# --- helpers -----------------------------------------------------------------------------------


def client_for(user) -> JsonClient:
    client = JsonClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(user=user).access}")
    return client


def make_project(owner, title: str = "Rooftop Heist", **fields) -> Project:
    fields.setdefault("genre", "Action")
    fields.setdefault("description", "A fast urban action thriller")
    return Project.objects.create(owner=owner, title=title, **fields)


def add_member(project: Project, role: str):
    member = UserFactory()
    Collaborator.objects.create(project=project, user=member, role=role)
    return member


def send(client, project: Project | str, message: str = "I want an action movie", **extra):
    project_id = project.pk if isinstance(project, Project) else project
    return client.post(
        "/api/v1/chat/message", {"projectId": project_id, "message": message, **extra}
    )


def start(client, project: Project, message: str = "I want an action movie") -> dict:
    return json_body(send(client, project, message))


def choose(client, session_id: str, choice_id: str, **extra):
    return client.post(
        "/api/v1/chat/choice", {"sessionId": session_id, "choiceId": choice_id, **extra}
    )


def assert_choices(choices: list) -> None:
    assert 2 <= len(choices) <= 4, choices
    for choice in choices:
        assert set(choice) == CHOICE_KEYS, choice
        assert CHOICE_ID.match(choice["id"])
        assert isinstance(choice["title"], str) and choice["title"]
        assert isinstance(choice["description"], str)
        assert isinstance(choice["metadata"], dict)
    assert len({c["id"] for c in choices}) == len(choices)


def valid_offer(next_step: str = "setting-selection", count: int = 3) -> dict:
    titles = ["Urban Setting", "Military Theme", "Desert Chase", "Harbour Night"]
    return {
        "choices": [
            {
                "title": titles[i],
                "description": f"{titles[i]} action sequences",
                "metadata": {"difficulty": "medium", "duration": "2-3 episodes"},
            }
            for i in range(count)
        ],
        "nextStep": next_step,
    }


def png(color=(255, 0, 0), size=(16, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def upload(client, project: Project, session_id: str, data: bytes, name: str = "ref.png", **extra):
    file = io.BytesIO(data)
    file.name = name
    return APIClient.post(
        client,
        "/api/v1/chat/upload",
        {
            "projectId": project.pk,
            "sessionId": session_id,
            "file": file,
            "description": "Character reference image",
            "mediaType": "style_reference",
            **extra,
        },
        format="multipart",
    )


@pytest.fixture
def project(user) -> Project:
    return make_project(user)


# --- POST /api/v1/chat/message -------------------------------------------------------------------


def test_a_message_without_session_starts_one_and_answers_the_seed_shape(auth_client, project):
    response = send(auth_client, project)
    body = json_body(response)
    assert set(body) == {"success", "messageId", "aiResponse", "session"}
    assert body["success"] is True
    assert MSG_ID.match(body["messageId"])
    ai = body["aiResponse"]
    assert set(ai) == {"messageId", "content", "choices", "nextStep"}
    assert MSG_ID.match(ai["messageId"]) and ai["messageId"] != body["messageId"]
    assert "[offline provider]" in ai["content"]
    assert_choices(ai["choices"])
    # The model may only point at the next open steps after the current one.
    assert ai["nextStep"] in ("setting-selection", "character-development")
    session = body["session"]
    assert set(session) == {"id", "currentStep", "progress", "status"}
    assert SESSION_ID.match(session["id"])
    assert session == {
        "id": session["id"],
        "currentStep": "concept-development",
        "progress": 0,
        "status": "active",
    }
    assert response["X-Request-ID"].startswith("req-")
    assert response["X-RateLimit-Tier"] == "free"
    for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert response[header].isdigit()
    stored = Chat.sessions.get(public_id=session["id"])
    assert stored.project_id == project.pk and stored.kind == ChatKind.PROJECT_SESSION
    lines = list(stored.messages.order_by("created_at", "pk").values_list("client_id", "role"))
    assert lines == [(body["messageId"], "user"), (ai["messageId"], "assistant")]


def test_a_message_with_session_continues_it(auth_client, project):
    first = start(auth_client, project)
    session_id = first["session"]["id"]
    body = json_body(send(auth_client, project, "More rooftop scenes", sessionId=session_id))
    assert body["session"]["id"] == session_id
    assert Chat.sessions.count() == 1
    assert Message.objects.filter(chat__public_id=session_id).count() == 4


def test_session_ids_are_random(auth_client, project):
    ids = {start(auth_client, project)["session"]["id"] for _ in range(2)}
    assert len(ids) == 2


def test_the_client_request_id_is_echoed(auth_client, project):
    response = auth_client.post(
        "/api/v1/chat/message", {"projectId": "project-nope"}, HTTP_X_REQUEST_ID="trace-42"
    )
    error = movie_error(response, 400, "VALIDATION_ERROR")
    assert error["details"]
    assert response["X-Request-ID"] == "trace-42"
    assert response.json()["requestId"] == "trace-42"


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, {"projectId", "message"}),
        ({"projectId": "p", "message": "   "}, {"message"}),
        ({"message": "hi"}, {"projectId"}),
        ({"projectId": "p", "message": "hi", "attachments": "media-1"}, {"attachments"}),
        ({"projectId": "p", "message": "hi", "attachments": ["m"] * 11}, {"attachments"}),
    ],
)
def test_invalid_message_bodies_are_400_with_details(auth_client, payload, fields):
    error = movie_error(auth_client.post("/api/v1/chat/message", payload), 400, "VALIDATION_ERROR")
    assert {d["field"] for d in error["details"]} == fields
    for detail in error["details"]:
        assert detail["message"]


def test_malformed_json_is_400(auth_client):
    response = auth_client.post("/api/v1/chat/message", "{nope", content_type="application/json")
    movie_error(response, 400, "VALIDATION_ERROR")


def test_a_message_over_the_size_limit_is_413(auth_client, project, settings):
    settings.MESSAGE_MAX_BYTES = 100
    error = movie_error(send(auth_client, project, "x" * 101), 413, "PAYLOAD_TOO_LARGE")
    assert "message" in error["message"]
    assert not Chat.sessions.exists()


def test_unknown_project_is_404_and_creates_nothing(auth_client):
    movie_error(send(auth_client, "project-0000000000000000"), 404, "NOT_FOUND")
    assert not Chat.sessions.exists()


def test_unknown_session_is_404(auth_client, project):
    movie_error(send(auth_client, project, sessionId="session-unknown"), 404, "NOT_FOUND")


def test_a_session_of_another_project_is_404(auth_client, user, project):
    session_id = start(auth_client, project)["session"]["id"]
    other = make_project(user, title="Second Film")
    movie_error(send(auth_client, other, sessionId=session_id), 404, "NOT_FOUND")


def test_without_token_every_route_is_401(client):
    for method, path in [
        ("post", "/api/v1/chat/message"),
        ("post", "/api/v1/chat/choice"),
        ("post", "/api/v1/chat/upload"),
        ("get", "/api/v1/chat/sessions"),
        ("get", "/api/v1/chat/session/session-x"),
    ]:
        response = getattr(client, method)(path)
        movie_error(response, 401, "AUTH_REQUIRED")
        assert response["WWW-Authenticate"] == "Bearer"


def test_a_bad_token_is_401(project):
    client = JsonClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    movie_error(send(client, project), 401, "AUTH_REQUIRED")


def test_wrong_method_is_405_in_m_body(auth_client):
    movie_error(auth_client.get("/api/v1/chat/message"), 405, "METHOD_NOT_ALLOWED")


# --- membership ----------------------------------------------------------------------------------


def test_a_non_member_gets_403_everywhere(auth_client, project, other_auth_client):
    session_id = start(auth_client, project)["session"]["id"]
    movie_error(send(other_auth_client, project), 403, "ACCESS_DENIED")
    movie_error(send(other_auth_client, project, sessionId=session_id), 403, "ACCESS_DENIED")
    movie_error(other_auth_client.get(f"/api/v1/chat/session/{session_id}"), 403, "ACCESS_DENIED")
    movie_error(choose(other_auth_client, session_id, "choice-x"), 403, "ACCESS_DENIED")
    listed = json_body(other_auth_client.get("/api/v1/chat/sessions"))
    assert listed["sessions"] == [] and listed["pagination"]["total"] == 0


def test_a_collaborator_writes_in_the_owners_session(auth_client, project):
    session_id = start(auth_client, project)["session"]["id"]
    member = add_member(project, "collaborator")
    body = json_body(send(client_for(member), project, "Add a chase", sessionId=session_id))
    assert body["session"]["id"] == session_id
    history = json_body(auth_client.get(f"/api/v1/chat/session/{session_id}"))["session"][
        "conversationHistory"
    ]
    assert history[-2]["sender"]["id"] == member.public_id
    assert history[-2]["content"] == "Add a chase"


def test_a_viewer_reads_but_does_not_write(auth_client, project):
    first = start(auth_client, project)
    session_id = first["session"]["id"]
    viewer = client_for(add_member(project, "viewer"))
    detail = json_body(viewer.get(f"/api/v1/chat/session/{session_id}"))
    assert detail["session"]["id"] == session_id
    assert [s["id"] for s in json_body(viewer.get("/api/v1/chat/sessions"))["sessions"]] == [
        session_id
    ]
    movie_error(send(viewer, project, sessionId=session_id), 403, "ACCESS_DENIED")
    movie_error(send(viewer, project), 403, "ACCESS_DENIED")
    choice_id = first["aiResponse"]["choices"][0]["id"]
    movie_error(choose(viewer, session_id, choice_id), 403, "ACCESS_DENIED")
    assert Message.objects.filter(chat__public_id=session_id).count() == 2


# --- the model, through the fake OpenAI-compatible server ----------------------------------------


def test_choices_come_from_structured_output(auth_client, project, fake_openai):
    fake_openai.queue_chat("Let's build an action-packed concept.")
    fake_openai.queue_structured(valid_offer("setting-selection"))
    body = json_body(send(auth_client, project))
    ai = body["aiResponse"]
    assert ai["content"] == "Let's build an action-packed concept."
    assert [c["title"] for c in ai["choices"]] == [
        "Urban Setting",
        "Military Theme",
        "Desert Chase",
    ]
    assert ai["choices"][0]["metadata"] == {"difficulty": "medium", "duration": "2-3 episodes"}
    assert_choices(ai["choices"])
    assert ai["nextStep"] == "setting-selection"
    structured = [r.body for r in fake_openai.requests_to("chat") if r.body.get("response_format")]
    assert len(structured) == 1
    schema = structured[0]["response_format"]["json_schema"]
    assert schema["name"] == "workflow_choices"
    assert schema["schema"]["properties"]["choices"]["minItems"] == 2
    assert schema["schema"]["properties"]["choices"]["maxItems"] == 4


def test_a_malformed_choices_answer_is_retried_once_then_502(auth_client, project, fake_openai):
    fake_openai.queue_chat("A reply whose choices will not parse.")
    fake_openai.queue_structured("not json at all")
    fake_openai.queue_structured({"choices": [{"title": "only one"}], "nextStep": "nowhere"})
    error = movie_error(send(auth_client, project), 502, "AI_SERVICE_ERROR")
    assert "format" in error["message"]
    structured = [r for r in fake_openai.requests_to("chat") if r.body.get("response_format")]
    assert len(structured) == 2
    # The member's line is kept; no reply is stored without its choices.
    session = Chat.sessions.get()
    assert list(session.messages.values_list("role", flat=True)) == ["user"]


def test_a_malformed_answer_then_a_good_one_succeeds(auth_client, project, fake_openai):
    fake_openai.queue_chat("Second time lucky.")
    fake_openai.queue_structured("{broken")
    fake_openai.queue_structured(valid_offer(count=2))
    body = json_body(send(auth_client, project))
    assert len(body["aiResponse"]["choices"]) == 2


def test_an_unreachable_model_is_503_with_retry_after(auth_client, project, fake_openai):
    fake_openai.fail(503)
    response = send(auth_client, project)
    movie_error(response, 503, "SERVICE_UNAVAILABLE")
    assert response["Retry-After"].isdigit()


# --- POST /api/v1/chat/choice --------------------------------------------------------------------


def test_a_choice_advances_the_workflow(auth_client, project):
    first = start(auth_client, project)
    session_id = first["session"]["id"]
    choice = first["aiResponse"]["choices"][0]
    response = choose(auth_client, session_id, choice["id"])
    body = json_body(response)
    assert set(body) == {
        "success",
        "workflowAdvanced",
        "newStep",
        "stepCompleted",
        "progressUpdate",
        "aiResponse",
        "messageId",
    }
    assert body["workflowAdvanced"] is True
    assert body["stepCompleted"] == "concept-development"
    assert body["newStep"] == first["aiResponse"]["nextStep"]
    update = body["progressUpdate"]
    assert update == {
        "percentage": round(100 / len(STEPS)),
        "completedSteps": ["concept-development"],
        "nextSteps": update["nextSteps"],
    }
    assert update["nextSteps"] and "concept-development" not in update["nextSteps"]
    assert set(body["aiResponse"]) == {"messageId", "content", "choices", "nextStep"}
    assert_choices(body["aiResponse"]["choices"])
    assert not {c["id"] for c in body["aiResponse"]["choices"]} & {
        c["id"] for c in first["aiResponse"]["choices"]
    }
    project.refresh_from_db()
    assert project.completed_steps == ["concept-development"]
    assert project.current_step == body["newStep"]
    detail = json_body(auth_client.get(f"/api/v1/chat/session/{session_id}"))["session"]
    assert detail["currentStep"] == body["newStep"]
    line = detail["conversationHistory"][2]
    assert line["role"] == "user" and line["id"] == body["messageId"]
    assert line["content"] == f"{choice['title']}: {choice['description']}"
    assert detail["conversationHistory"][1]["metadata"]["chosenChoiceId"] == choice["id"]
    assert detail["contextData"]["decisions"] == [
        {"step": "concept-development", "choiceId": choice["id"], "text": line["content"]}
    ]


def test_the_same_choice_twice_is_409_and_advances_once(auth_client, project):
    first = start(auth_client, project)
    session_id = first["session"]["id"]
    choice_id = first["aiResponse"]["choices"][1]["id"]
    json_body(choose(auth_client, session_id, choice_id))
    error = movie_error(choose(auth_client, session_id, choice_id), 409, "CONFLICT")
    assert choice_id in error["message"]
    project.refresh_from_db()
    assert project.completed_steps == ["concept-development"]
    assert Message.objects.filter(chat__public_id=session_id).count() == 4


def test_a_sibling_of_a_taken_choice_is_409(auth_client, project):
    first = start(auth_client, project)
    session_id = first["session"]["id"]
    taken, sibling = (c["id"] for c in first["aiResponse"]["choices"][:2])
    json_body(choose(auth_client, session_id, taken))
    movie_error(choose(auth_client, session_id, sibling), 400, "VALIDATION_ERROR")


def test_a_choice_not_offered_is_400(auth_client, project):
    session_id = start(auth_client, project)["session"]["id"]
    error = movie_error(choose(auth_client, session_id, "choice-1"), 400, "VALIDATION_ERROR")
    assert error["details"] == [
        {"field": "choiceId", "message": "Must be one of the choices the session was last offered."}
    ]
    project.refresh_from_db()
    assert project.completed_steps == []


def test_only_the_last_offer_counts(auth_client, project):
    first = start(auth_client, project)
    session_id = first["session"]["id"]
    stale = first["aiResponse"]["choices"][0]["id"]
    send(auth_client, project, "Something else first", sessionId=session_id)
    movie_error(choose(auth_client, session_id, stale), 400, "VALIDATION_ERROR")


def test_custom_input_replaces_the_choice_text(auth_client, project, fake_openai):
    fake_openai.queue_chat("Concept noted.")
    fake_openai.queue_structured(valid_offer("setting-selection"))
    first = start(auth_client, project)
    session_id = first["session"]["id"]
    fake_openai.queue_structured(valid_offer("character-development", count=2))
    body = json_body(
        choose(
            auth_client,
            session_id,
            first["aiResponse"]["choices"][0]["id"],
            customInput="I want urban rooftop chase scenes",
        )
    )
    assert body["newStep"] == "setting-selection"
    assert body["aiResponse"]["content"] == "Fake reply to: I want urban rooftop chase scenes"
    streamed = [
        r.body for r in fake_openai.requests_to("chat") if not r.body.get("response_format")
    ]
    assert streamed[-1]["messages"][-1] == {
        "role": "user",
        "content": "I want urban rooftop chase scenes",
    }
    line = Message.objects.get(client_id=body["messageId"])
    assert line.content == "I want urban rooftop chase scenes"
    assert line.metadata == {
        "choiceId": first["aiResponse"]["choices"][0]["id"],
        "customInput": True,
    }


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, {"sessionId", "choiceId"}),
        ({"sessionId": "session-x"}, {"choiceId"}),
        ({"sessionId": "session-x", "choiceId": ""}, {"choiceId"}),
    ],
)
def test_invalid_choice_bodies_are_400(auth_client, payload, fields):
    error = movie_error(auth_client.post("/api/v1/chat/choice", payload), 400, "VALIDATION_ERROR")
    assert {d["field"] for d in error["details"]} == fields


def test_a_choice_in_an_unknown_session_is_404(auth_client):
    movie_error(choose(auth_client, "session-nope", "choice-1"), 404, "NOT_FOUND")


def test_a_choice_before_any_offer_is_400(auth_client, user, project):
    session = Chat.all_chats.create(
        kind=ChatKind.PROJECT_SESSION,
        public_id="session-" + "a" * 24,
        owner=user,
        project=project,
        current_step="concept-development",
        status="active",
        last_activity=timezone.now(),
    )
    movie_error(choose(auth_client, session.public_id, "choice-1"), 400, "VALIDATION_ERROR")


# --- GET /api/v1/chat/session/{id} ---------------------------------------------------------------


def test_session_detail_has_the_seed_shape(auth_client, user, project):
    first = start(auth_client, project)
    session_id = first["session"]["id"]
    body = json_body(auth_client.get(f"/api/v1/chat/session/{session_id}"))
    assert set(body) == {"success", "session"}
    session = body["session"]
    assert set(session) == {
        "id",
        "projectId",
        "userId",
        "currentStep",
        "status",
        "createdAt",
        "lastActivity",
        "conversationHistory",
        "contextData",
    }
    assert session["id"] == session_id and session["projectId"] == project.pk
    assert session["userId"] == user.public_id
    assert session["status"] == "active" and session["currentStep"] == "concept-development"
    assert ISO_Z.match(session["createdAt"]) and ISO_Z.match(session["lastActivity"])
    user_line, reply = session["conversationHistory"]
    assert set(user_line) == {"id", "role", "content", "timestamp", "attachments", "sender"}
    assert user_line["id"] == first["messageId"] and user_line["attachments"] == []
    assert user_line["sender"] == {"id": user.public_id, "name": user.name, "role": user.role}
    assert set(reply) == {"id", "role", "content", "timestamp", "choices", "metadata"}
    assert reply["choices"] == first["aiResponse"]["choices"]
    assert isinstance(reply["metadata"]["processingTime"], int)
    assert reply["metadata"]["nextStep"] == first["aiResponse"]["nextStep"]
    assert session["contextData"] == {
        "currentFocus": "concept-development",
        "genre": "Action",
        "mediaReferences": [],
        "decisions": [],
    }


def test_unknown_session_detail_is_404(auth_client):
    movie_error(auth_client.get("/api/v1/chat/session/session-nope"), 404, "NOT_FOUND")


# --- GET /api/v1/chat/sessions -------------------------------------------------------------------


def _session_row(owner, project, minutes_ago: int = 0, status: str = "active", messages: int = 0):
    session = Chat.all_chats.create(
        kind=ChatKind.PROJECT_SESSION,
        public_id=f"session-{Chat.all_chats.count():024x}",
        owner=owner,
        project=project,
        current_step="concept-development",
        status=status,
        last_activity=timezone.now() - timedelta(minutes=minutes_ago),
    )
    for index in range(messages):
        Message.objects.create(chat=session, client_id=f"msg-{index}", role="user", content="hi")
    return session


def test_session_list_shape_order_and_query_count(
    auth_client, user, project, django_assert_num_queries
):
    other_project = make_project(user, title="Second Film", completed_steps=STEPS[:3])
    shared = make_project(UserFactory(), title="Shared Film")
    Collaborator.objects.create(project=shared, user=user, role="viewer")
    hidden = make_project(UserFactory(), title="Not Mine")
    old = _session_row(user, project, minutes_ago=30, messages=2)
    new = _session_row(user, other_project, minutes_ago=1, messages=5)
    mid = _session_row(shared.owner, shared, minutes_ago=10, messages=1)
    _session_row(hidden.owner, hidden, messages=3)
    ChatFactory(owner=user)  # family A's chat: never listed here
    with django_assert_num_queries(3):  # the token's user, the count, the page
        response = auth_client.get("/api/v1/chat/sessions")
    body = json_body(response)
    assert set(body) == {"success", "sessions", "pagination"}
    assert [s["id"] for s in body["sessions"]] == [new.public_id, mid.public_id, old.public_id]
    item = body["sessions"][0]
    assert set(item) == {
        "id",
        "projectId",
        "projectTitle",
        "userId",
        "currentStep",
        "status",
        "progress",
        "createdAt",
        "lastActivity",
        "messageCount",
    }
    assert item["projectId"] == other_project.pk and item["projectTitle"] == "Second Film"
    assert item["progress"] == round(300 / len(STEPS)) and item["messageCount"] == 5
    assert item["status"] == "active" and item["userId"] == user.public_id
    assert body["pagination"] == {
        "page": 1,
        "limit": 20,
        "total": 3,
        "totalPages": 1,
        "hasNext": False,
        "hasPrev": False,
    }
    assert response["X-RateLimit-Tier"] == "free"


def test_session_list_filters_and_pages(auth_client, user, project, settings):
    settings.MOVIE_SESSION_IDLE_SECONDS = 3600
    other_project = make_project(user, title="Second Film")
    idle = _session_row(user, project, minutes_ago=120)
    active = _session_row(user, project, minutes_ago=5)
    done = _session_row(user, other_project, minutes_ago=1, status="completed")

    def ids(query: str) -> list[str]:
        return [
            s["id"]
            for s in json_body(auth_client.get(f"/api/v1/chat/sessions?{query}"))["sessions"]
        ]

    assert ids(f"projectId={project.pk}") == [active.public_id, idle.public_id]
    assert ids("status=paused") == [idle.public_id]
    assert ids("status=active") == [active.public_id]
    assert ids("status=completed") == [done.public_id]
    assert ids(f"status=active&projectId={other_project.pk}") == []
    page = json_body(auth_client.get("/api/v1/chat/sessions?limit=2&page=2"))
    assert [s["id"] for s in page["sessions"]] == [idle.public_id]
    assert page["pagination"] == {
        "page": 2,
        "limit": 2,
        "total": 3,
        "totalPages": 2,
        "hasNext": False,
        "hasPrev": True,
    }
    idle_item = json_body(auth_client.get("/api/v1/chat/sessions?status=paused"))["sessions"][0]
    assert idle_item["status"] == "paused"


@pytest.mark.parametrize(
    ("query", "field"), [("status=stalled", "status"), ("limit=101", "limit"), ("page=0", "page")]
)
def test_session_list_bad_parameters_are_400(auth_client, query, field):
    error = movie_error(auth_client.get(f"/api/v1/chat/sessions?{query}"), 400, "VALIDATION_ERROR")
    assert [d["field"] for d in error["details"]] == [field]


def test_a_paused_session_becomes_active_on_its_next_line(auth_client, project, settings):
    session_id = start(auth_client, project)["session"]["id"]
    settings.MOVIE_SESSION_IDLE_SECONDS = 60
    Chat.sessions.filter(public_id=session_id).update(
        last_activity=timezone.now() - timedelta(hours=1)
    )
    detail = json_body(auth_client.get(f"/api/v1/chat/session/{session_id}"))["session"]
    assert detail["status"] == "paused"
    body = json_body(send(auth_client, project, "Back to work", sessionId=session_id))
    assert body["session"]["status"] == "active"


# --- family A never sees a project session -------------------------------------------------------


def test_project_sessions_stay_out_of_the_assistant_chat_routes(auth_client, user, project):
    session_id = start(auth_client, project)["session"]["id"]
    own_chat = json_body(auth_client.post("/api/chats", {"prompt": "Plan a picnic"}), 201)
    listed = json_body(auth_client.get("/api/chats"))
    assert [c["id"] for c in listed] == [own_chat["id"]]
    chat_uuid = Chat.sessions.get(public_id=session_id).pk
    for response in (
        auth_client.get(f"/api/chats/{chat_uuid}"),
        auth_client.post(f"/api/chats/{chat_uuid}/messages", {"role": "user", "content": "x"}),
        auth_client.get(f"/api/chats/{chat_uuid}/state"),
        auth_client.delete(f"/api/chats/{chat_uuid}"),
    ):
        assert response.status_code == 404, response.content
        assert response.json()["statusCode"] == 404
    assert Chat.sessions.filter(public_id=session_id).exists()
    assert Message.objects.filter(chat_id=chat_uuid).count() == 2


# --- POST /api/v1/chat/upload and attachments ----------------------------------------------------


def test_upload_attaches_media_to_the_session(auth_client, project):
    session_id = start(auth_client, project)["session"]["id"]
    response = upload(auth_client, project, session_id, png())
    body = json_body(response)
    assert set(body) == {
        "success",
        "mediaId",
        "filename",
        "mediaType",
        "processingStatus",
        "aiAnalysis",
        "embedding",
    }
    assert re.match(r"^media-[0-9a-f]+$", body["mediaId"])
    assert body["filename"] == "ref.png" and body["mediaType"] == "style_reference"
    assert body["processingStatus"] == "analyzing"
    assert set(body["aiAnalysis"]) == {"description", "tags", "styleElements", "suitableFor"}
    assert body["embedding"] == {"status": "generating", "estimatedCompletion": "30s"}
    assert response["X-Request-ID"]
    detail = json_body(auth_client.get(f"/api/v1/chat/session/{session_id}"))["session"]
    assert detail["contextData"]["mediaReferences"] == [body["mediaId"]]
    # The uploaded media may then be attached to a line of the session.
    reply = json_body(
        send(
            auth_client,
            project,
            "Use this look",
            sessionId=session_id,
            attachments=[body["mediaId"]],
        )
    )
    line = Message.objects.get(client_id=reply["messageId"])
    assert line.attachments == [body["mediaId"]]


def test_upload_rejections(auth_client, project, settings):
    session_id = start(auth_client, project)["session"]["id"]
    movie_error(
        upload(auth_client, project, session_id, b"just some text\n" * 10, name="notes.png"),
        415,
        "UNSUPPORTED_FORMAT",
    )
    settings.MEDIA_UPLOAD_MAX_BYTES = {**settings.MEDIA_UPLOAD_MAX_BYTES, "free": 64}
    movie_error(upload(auth_client, project, session_id, png()), 413, "FILE_TOO_LARGE")
    movie_error(upload(auth_client, project, "session-nope", png()), 404, "NOT_FOUND")
    error = movie_error(
        APIClient.post(
            auth_client,
            "/api/v1/chat/upload",
            {"projectId": project.pk, "sessionId": session_id},
            format="multipart",
        ),
        400,
        "VALIDATION_ERROR",
    )
    assert [d["field"] for d in error["details"]] == ["file"]


def test_a_viewer_cannot_upload(auth_client, project):
    session_id = start(auth_client, project)["session"]["id"]
    viewer = client_for(add_member(project, "viewer"))
    movie_error(upload(viewer, project, session_id, png()), 403, "ACCESS_DENIED")


def test_attachments_must_be_readable_media_of_the_project(auth_client, user, project):
    session_id = start(auth_client, project)["session"]["id"]
    other = make_project(user, title="Second Film")
    other_session = start(auth_client, other)["session"]["id"]
    foreign = json_body(upload(auth_client, other, other_session, png()))["mediaId"]
    own = json_body(upload(auth_client, project, session_id, png((0, 0, 255))))["mediaId"]
    error = movie_error(
        send(
            auth_client,
            project,
            "Look",
            sessionId=session_id,
            attachments=[own, foreign, "media-x"],
        ),
        400,
        "VALIDATION_ERROR",
    )
    assert [d["field"] for d in error["details"]] == ["attachments[1]", "attachments[2]"]
    assert Message.objects.filter(chat__public_id=session_id).count() == 2


def test_ai_turns_count_against_the_members_turn_rate(auth_client, project, settings):
    settings.AI_TURN_RATE = "1/day"
    session_id = start(auth_client, project)["session"]["id"]
    refused = send(auth_client, project, "Another line", sessionId=session_id)
    error = movie_error(refused, 429, "RATE_LIMITED")
    assert "too many ai" in error["message"].lower()
    assert int(refused["Retry-After"]) >= 1
    assert Message.objects.filter(chat__public_id=session_id).count() == 2  # nothing new
