"""Every model call passes the engine's limits (ai/limits.py), not only the turns.

The one-shot calls (family G's scenario and image, family C's opening line) are refused with
the family's own answer when the process's cap (`AI_TURNS_MAX_CONCURRENT`, 503 with
Retry-After) or the caller's rate (`AI_TURN_RATE`, 429 with Retry-After) is used up, before
anything is written; a call made inside a turn is the turn's and is not counted again.
"""

from __future__ import annotations

import pytest

from ai import client as ai
from ai import limits
from characters.models import Character
from chats.models import Message as ChatMessage
from games.models import GameImage, Message
from tests.factories import CharacterFactory, GameSessionFactory
from tests.helpers import game_error
from tests.helpers import json_body as ok

pytestmark = pytest.mark.django_db(transaction=True)

SCENARIO = "/api/ai/generate-scenario"
IMAGE = "/api/ai/image"
CHARACTERS = "/api/characters"


@pytest.fixture
def session():
    return GameSessionFactory()


def scenario(client, session, title: str = "The Sunken Keep"):
    return client.post(SCENARIO, {"sessionId": str(session.pk), "templateTitle": title})


def image(client, session):
    body = {"sessionId": str(session.pk), "prompt": "a lighthouse", "size": "512x512"}
    return client.post(IMAGE, {**body, "mime": "image/png"})


def character(client, name: str = "Mira"):
    return client.post(CHARACTERS, {"name": name, "description": "A quiet archivist."})


def assert_busy(response) -> None:
    game_error(response, 503, "busy")
    assert int(response["Retry-After"]) >= 1


def assert_rate_limited(response) -> None:
    game_error(response, 429, "too many ai")
    assert int(response["Retry-After"]) >= 1


def test_past_the_cap_a_scenario_is_503_and_writes_nothing(client, session, settings):
    settings.AI_TURNS_MAX_CONCURRENT = 0
    assert_busy(scenario(client, session))
    assert not Message.objects.filter(session=session).exists()


def test_past_the_rate_a_scenario_is_429_and_writes_nothing(client, session, settings):
    settings.AI_TURN_RATE = "1/day"
    ok(scenario(client, session))
    logged = Message.objects.filter(session=session).count()
    assert_rate_limited(scenario(client, session, "Another Tale"))
    assert Message.objects.filter(session=session).count() == logged


def test_past_the_cap_an_image_is_503_and_writes_nothing(client, session, settings):
    settings.AI_TURNS_MAX_CONCURRENT = 0
    assert_busy(image(client, session))
    assert not GameImage.objects.exists()


def test_past_the_rate_an_image_is_429_and_writes_nothing(client, session, settings):
    settings.AI_TURN_RATE = "1/day"
    ok(image(client, session))
    assert_rate_limited(image(client, session))
    assert GameImage.objects.count() == 1


def test_past_the_cap_an_opening_line_is_503_and_no_character_is_made(client, settings):
    settings.AI_TURNS_MAX_CONCURRENT = 0
    assert_busy(character(client))
    assert not Character.objects.exists()


def test_past_the_rate_an_opening_line_is_429_and_no_character_is_made(client, settings):
    settings.AI_TURN_RATE = "1/day"
    ok(character(client), 201)
    assert_rate_limited(character(client, "Tomas"))
    assert Character.objects.count() == 1


def test_turns_and_one_shot_calls_share_one_rate(client, session, settings):
    settings.AI_TURN_RATE = "1/day"
    dialogue = {"sessionId": str(session.pk), "history": [{"role": "user", "content": "Hi"}]}
    ok(client.post("/api/ai/dialogue", dialogue))
    assert_rate_limited(scenario(client, session))


def test_a_call_inside_a_turn_is_the_turns(client, settings):
    """Family C's turn makes two model calls (the reply, then the state extraction): with a
    cap of one, the turn takes the only place and its extraction is not refused (200, not
    207)."""
    settings.AI_TURNS_MAX_CONCURRENT = 1
    created = client.post("/api/chats", {"characterId": CharacterFactory().pk})
    assert created.status_code == 201, created.content
    answer = client.post(
        f"/api/chats/{created.json()['id']}/messages", {"role": "user", "content": "Hi"}
    )
    body = ok(answer)
    assert set(body) == {"message", "ai_response", "state_snapshot"}
    assert ChatMessage.objects.filter(role="assistant").count() == 1


async def test_a_one_shot_call_holds_a_place_under_the_cap_until_it_ends(settings):
    settings.AI_TURNS_MAX_CONCURRENT = 1
    before = limits.in_flight()
    async with limits.model_call():
        assert limits.in_flight() == before + 1
        with pytest.raises(limits.TurnsBusy):
            await ai.complete(task="dialogue", messages=[{"role": "user", "content": "Hi"}])
    assert limits.in_flight() == before
    assert await ai.complete(task="dialogue", messages=[{"role": "user", "content": "Hi"}])
