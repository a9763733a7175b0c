"""Family M's workflow turns go through the engine's one turn registry (ai/registry.py).

A session's turn is claimed under `project-session.<id>`, like any family's conversation: it
can be found busy (a second line meanwhile is 409, SessionTurnInFlight), found by its key, and
stopped through the registry; once it ends, the session is free again.
"""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from ai import registry
from chats.models import Message
from chats.workflow import services
from chats.workflow.errors import SessionTurnInFlight
from chats.workflow.turns import turn_key
from projects.models import Project
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 10


@database_sync_to_async
def member_and_project():
    user = UserFactory()
    project = Project.objects.create(
        owner=user, title="Rooftop Heist", genre="Action", description="A fast thriller"
    )
    return user, project


async def wait_for(predicate, timeout: float = TIMEOUT) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_session_turn_is_busy_found_and_stopped_through_the_registry(settings):
    user, project = await member_and_project()
    first = await services.session_message_send(
        user=user, project_id=project.pk, session_id=None, message="I want an action movie"
    )
    session_id = first.session.public_id
    key = turn_key(session_id)
    assert registry.find(key) is None and not await registry.busy(key)

    settings.AI_OFFLINE_DELAY = 0.05
    running = asyncio.create_task(
        services.session_message_send(
            user=user, project_id=project.pk, session_id=session_id, message="Make it longer"
        )
    )
    await wait_for(lambda: registry.find(key) is not None)
    turn = registry.find(key)
    assert await registry.busy(key)
    with pytest.raises(SessionTurnInFlight):
        await services.session_message_send(
            user=user, project_id=project.pk, session_id=session_id, message="Meanwhile"
        )

    await wait_for(lambda: any(e.kind == "delta" for e in turn.events))
    assert await registry.stop(key)
    result = await asyncio.wait_for(running, TIMEOUT)

    assert turn.stopped and result.reply is not None
    assert registry.find(key) is None and not await registry.busy(key)
    contents = await database_sync_to_async(
        lambda: list(
            Message.objects.filter(chat__public_id=session_id)
            .order_by("id")
            .values_list("content", flat=True)
        )
    )()
    assert "Meanwhile" not in contents and "Make it longer" in contents
    # The session takes lines again.
    settings.AI_OFFLINE_DELAY = 0.0
    again = await services.session_message_send(
        user=user, project_id=project.pk, session_id=session_id, message="Next"
    )
    assert again.reply.content
