"""The AI SDK's own chat (`AbstractChat`, what `useChat` wraps; tests/js/branches.mjs) against
a live server on the offline provider: `sendMessage`, `regenerate({messageId})`, an edit
(`sendMessage({text, messageId})`) and `regenerate()`, in an assistant chat (A) and in a
character chat (C, whose stream also carries its state). After them, the page's messages are
what the server stores as the chat's active branch, id for id, so a reload shows what the page
showed; the replaced reply and the edited message are kept as earlier versions.
"""

from __future__ import annotations

import pytest

from tests.factories import CharacterFactory
from tests.js_client.test_ai_sdk import (
    OFFLINE_TAG,
    chat_create,
    cookie_identity,
    run_node,
    stored_messages,
)

pytestmark = pytest.mark.django_db(transaction=True)


def character_chat(http) -> str:
    character = CharacterFactory(name="Mira", opening_line="Welcome to the stacks.")
    response = http.post("/api/chats", json={"characterId": character.pk})
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.mark.parametrize("family", ["A", "C"])
def test_regenerate_and_edit_leave_the_stored_branch_equal_to_the_page(
    node, asgi_live_server, live_http, family
):
    if family == "A":
        chat_id, first = chat_create(live_http, "A picnic by the lake"), ["A picnic by the lake"]
    else:
        chat_id, first = character_chat(live_http), []

    result = run_node(
        node,
        "branches.mjs",
        asgi_live_server.url,
        chat_id,
        cookie_identity(live_http),
        server=asgi_live_server,
    )

    page, steps = result["messages"], result["steps"]
    stored = stored_messages(live_http, chat_id)
    assert [(m["id"], m["role"], m["content"]) for m in stored] == [
        (m["id"], m["role"], m["text"]) for m in page
    ]
    assert steps["reloaded"] == page
    assert [m["text"] for m in page if m["role"] == "user"] == [
        *first,
        "What should I bring?",
        "And for dinner?",
    ]
    assert all(OFFLINE_TAG in m["text"] for m in page[2::2])
    # The regenerated reply replaced the first one, which is kept as an earlier version.
    first_reply = stored[2]
    assert first_reply["id"] == steps["secondReply"] != steps["firstReply"]
    assert first_reply["versions"] == {
        "index": 1,
        "count": 2,
        "ids": [steps["firstReply"], steps["secondReply"]],
    }
    # The edited message keeps the id the page has; the old text is the other version.
    edited = stored[3]
    assert edited["id"] == steps["lunch"]
    assert edited["versions"]["ids"][1] == steps["lunch"]
    assert edited["versions"]["count"] == 2
    # regenerate() replaced the reply to the edit.
    assert stored[4]["id"] == steps["lastReply"]
    assert stored[4]["versions"]["ids"] == [steps["dinnerReply"], steps["lastReply"]]

    old_lunch = edited["versions"]["ids"][0]
    switched = live_http.post(f"/api/chats/{chat_id}/messages/{old_lunch}/activate")
    assert switched.status_code == 200, switched.text
    assert [(m["id"], m["content"]) for m in switched.json()["messages"][3:4]] == [
        (old_lunch, "And for lunch?")
    ]
    assert switched.json()["messages"][4]["id"] == steps["lunchReply"]
