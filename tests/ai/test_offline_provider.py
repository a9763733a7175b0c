"""The offline provider (the test settings' default for every task) through `ai.client`, and the
conversation engine's prompt budget and turn."""

from __future__ import annotations

import io
import math

import jsonschema
import pytest
from PIL import Image

from accounts.services import tokens_for_user
from ai import client as ai
from ai import engine, oneshot
from ai.errors import AIServiceError
from ai.providers import diagnostics, get_provider
from ai.providers.offline import OFFLINE_TAG
from tests.factories import UserFactory

SYSTEM = (
    "You are the game master of a text role-playing game.\n"
    "Game: The Sunken Bell\n"
    "Character: Mira, level 2 ranger; strength 10\n"
    "Scenario: Find the bell that rings under the lake."
)


def _messages(said: str, system: str = SYSTEM) -> list[dict]:
    return [
        {"role": "system", "content": system},
        {"role": "assistant", "content": "The lake is still."},
        {"role": "user", "content": said},
    ]


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


# --- Chat ------------------------------------------------------------------------------------


def test_every_task_is_offline_in_the_test_settings(settings):
    assert all(config["offline"] for config in settings.AI_TASKS.values())
    assert {get_provider(task).name for task in settings.AI_TASKS} == {"offline"}


async def test_the_same_input_gives_the_same_reply():
    first = await ai.complete(task="dialogue", messages=_messages("I wade into the reeds."))
    second = await ai.complete(task="dialogue", messages=_messages("I wade into the reeds."))
    other = await ai.complete(task="dialogue", messages=_messages("I climb the watchtower."))

    assert first == second
    assert other != first


async def test_the_reply_says_offline_and_uses_the_players_words_and_context():
    text = await ai.complete(
        task="dialogue", messages=_messages("I search the mossy well for the lantern.")
    )

    assert text.startswith(OFFLINE_TAG) and OFFLINE_TAG == "[offline provider]"
    assert 'Mira says: "I search the mossy well for the lantern."' in text
    assert "Your search, mossy, well set things in motion." in text
    assert "Remember the mission: Find the bell that rings under the lake." in text


async def test_begin_opens_the_game_with_its_scenario():
    text = await ai.complete(task="dialogue", messages=_messages("Begin."))

    assert text.startswith(f"{OFFLINE_TAG} The Sunken Bell begins.")
    assert "Find the bell that rings under the lake." in text
    assert "Mira stands at the threshold." in text


async def test_without_context_lines_the_reply_still_uses_the_players_words():
    text = await ai.complete(
        task="dialogue",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
    )

    assert text.startswith(OFFLINE_TAG)
    assert 'You say: "Hi".' in text
    assert "Remember the mission" not in text


async def test_stream_chat_yields_word_deltas_that_join_to_the_complete_text():
    messages = _messages("I light a torch and listen.")

    deltas = [d async for d in ai.stream_chat(task="dialogue", messages=messages)]
    text = await ai.complete(task="dialogue", messages=messages)

    assert "".join(deltas) == text
    assert len(deltas) == len(text.split(" ")) > 5
    assert deltas[0] == OFFLINE_TAG.split(" ")[0]
    assert all(d.startswith(" ") and " " not in d[1:] for d in deltas[1:])


# --- Structured output -----------------------------------------------------------------------

SAMPLE_SCHEMA = {
    "type": "object",
    "properties": {
        "mood": {"enum": ["calm", "tense", "cheerful"]},
        "title": {"type": "string", "maxLength": 12},
        "summary": {"type": "string"},
        "level": {"type": "integer", "minimum": 1, "maximum": 5},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "done": {"type": "boolean"},
        "note": {"type": ["string", "null"]},
        "kind": {"const": "scene"},
        "choices": {
            "type": "array",
            "minItems": 2,
            "maxItems": 4,
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "weight": {"type": "integer", "minimum": 10, "maximum": 20},
                    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
                },
                "required": ["id", "weight", "tags"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["mood", "title", "summary", "level", "score", "done", "note", "kind", "choices"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    "said",
    [
        "I open the chest",
        "Tell me about the lighthouse keeper and his lantern",
        "",
        "a b c",
        "Ünïcödé wörds, über alles; naïve café",
    ],
)
async def test_structured_output_is_valid_for_the_schema(said):
    value = await ai.structured(
        task="choices", messages=_messages(said), schema=SAMPLE_SCHEMA, name="scene"
    )

    jsonschema.validate(value, SAMPLE_SCHEMA)
    assert value["kind"] == "scene"
    assert 2 <= len(value["choices"]) <= 4
    assert all(10 <= c["weight"] <= 20 for c in value["choices"])


async def test_structured_output_is_deterministic_and_uses_the_players_words():
    messages = _messages("The lighthouse keeper hides a lantern")

    first = await ai.structured(
        task="choices", messages=messages, schema=SAMPLE_SCHEMA, name="scene"
    )
    second = await ai.structured(
        task="choices", messages=messages, schema=SAMPLE_SCHEMA, name="scene"
    )

    assert first == second
    content_words = {"lake", "still", "lighthouse", "keeper", "hides", "lantern"}
    assert first["summary"].split(" ")[0] in content_words


# --- Images ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["512x512", "768x768"])
@pytest.mark.parametrize(("mime", "pillow_format"), [("image/png", "PNG"), ("image/jpeg", "JPEG")])
async def test_images_are_real_png_and_jpeg_of_the_asked_size(size, mime, pillow_format):
    generated = await ai.image(prompt="a lighthouse on a cliff at dusk", size=size, mime=mime)

    side = int(size.split("x")[0])
    assert (generated.mime, generated.width, generated.height) == (mime, side, side)
    with Image.open(io.BytesIO(generated.data)) as picture:
        picture.load()
        assert picture.format == pillow_format
        assert picture.size == (side, side)
        assert len(picture.convert("RGB").getcolors(maxcolors=1_000_000) or []) > 10


async def test_images_are_deterministic_per_prompt():
    first = await ai.image(prompt="a red fox", size="512x512", mime="image/png")
    again = await ai.image(prompt="a red fox", size="512x512", mime="image/png")
    other = await ai.image(prompt="a blue whale", size="512x512", mime="image/png")

    assert first.data == again.data
    assert other.data != first.data


# --- Embeddings ------------------------------------------------------------------------------


async def test_embeddings_are_unit_vectors_of_the_configured_dimension(settings):
    texts = ["the old lighthouse", "", "a red fox in the snow", "lighthouse"]

    vectors = await ai.embed(texts=texts)

    assert len(vectors) == len(texts)
    for vector in vectors:
        assert len(vector) == settings.AI_EMBEDDING_DIMENSIONS
        assert math.isclose(math.sqrt(sum(v * v for v in vector)), 1.0, rel_tol=1e-9)
    assert vectors == await ai.embed(texts=texts)


async def test_embedding_dimension_follows_the_setting(settings):
    settings.AI_EMBEDDING_DIMENSIONS = 64

    [vector] = await ai.embed(texts=["a red fox"])

    assert len(vector) == 64


async def test_texts_sharing_words_are_closer_than_texts_sharing_none():
    base, shared, unrelated = await ai.embed(
        texts=[
            "the lighthouse keeper lit the lantern",
            "a lantern for the lighthouse",
            "quantum sandwich parliament",
        ]
    )

    assert _cosine(base, shared) > _cosine(base, unrelated)
    assert _cosine(base, shared) > 0.3
    assert _cosine(base, base) == pytest.approx(1.0)


# --- Diagnostics -----------------------------------------------------------------------------


def test_diagnostics_say_offline(settings):
    report = diagnostics()

    assert report["provider"] == "offline"
    assert set(report["tasks"]) == set(settings.AI_TASKS)
    assert all(
        task == {"provider": "offline", "model": "offline", "baseUrl": None}
        for task in report["tasks"].values()
    )


@pytest.mark.django_db
def test_diagnostics_route_says_offline(client):
    # Staff: in the production shape (a PostgreSQL run) only staff may read the diagnostics.
    staff = UserFactory(is_staff=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for_user(user=staff).access}")
    response = client.get("/api/ai/diagnostics")

    assert response.status_code == 200
    assert response.json()["provider"] == "offline"
    assert response.json()["tasks"]["dialogue"]["provider"] == "offline"


# --- The conversation engine -----------------------------------------------------------------


def _line(index: int, size: int = 40) -> dict:
    role = "user" if index % 2 == 0 else "assistant"
    return {"role": role, "content": f"{index:03d}" + "x" * (size - 3)}


def test_build_prompt_keeps_the_newest_messages_within_the_budget():
    history = [_line(i) for i in range(20)]  # 40 chars = 10 tokens + 4 overhead each
    system = "s" * 40  # 14 tokens

    prompt = engine.build_prompt(system_prompt=system, history=history, budget=14 + 5 * 14 + 3)

    assert prompt[0] == {"role": "system", "content": system}
    assert prompt[1:] == history[-5:]
    used = sum(engine.estimate_tokens(m["content"]) for m in prompt)
    assert used <= 14 + 5 * 14 + 3


def test_build_prompt_keeps_everything_that_fits_in_order():
    history = [_line(i) for i in range(4)]

    prompt = engine.build_prompt(system_prompt="rules", history=history, budget=10_000)

    assert prompt[1:] == history


def test_build_prompt_always_keeps_the_last_message_even_over_budget():
    history = [_line(0), _line(1), {"role": "user", "content": "y" * 4000}]

    prompt = engine.build_prompt(system_prompt="rules", history=history, budget=20)

    assert prompt == [
        {"role": "system", "content": "rules"},
        {"role": "user", "content": "y" * 4000},
    ]


def test_build_prompt_stops_at_the_first_message_that_does_not_fit():
    """Older small messages are not kept past a gap: the kept history is contiguous."""
    history = [_line(0, 8), _line(1, 400), _line(2, 8)]

    prompt = engine.build_prompt(system_prompt="", history=history, budget=30)

    assert prompt[1:] == [history[2]]


def test_build_prompt_uses_the_budget_setting(settings):
    history = [_line(i) for i in range(10)]
    settings.AI_HISTORY_TOKEN_BUDGET = 2 * 14 + engine.estimate_tokens("rules")

    prompt = engine.build_prompt(system_prompt="rules", history=history)

    assert prompt[1:] == history[-2:]


def test_build_prompt_copies_only_role_and_content():
    history = [{"role": "user", "content": "hello", "id": 7}]

    prompt = engine.build_prompt(system_prompt="rules", history=history)

    assert prompt[1] == {"role": "user", "content": "hello"}


async def test_run_turn_streams_then_persists_the_whole_reply():
    deltas: list[str] = []
    persisted: list[str] = []

    async def on_delta(delta: str) -> None:
        deltas.append(delta)

    async def persist(text: str) -> str:
        persisted.append(text)
        return f"saved:{len(text)}"

    history = [{"role": "user", "content": "I knock twice on the gate."}]
    result = await oneshot.run_turn(
        task="dialogue",
        system_prompt=SYSTEM,
        history=history,
        persist=persist,
        on_delta=on_delta,
    )

    expected = await ai.complete(
        task="dialogue", messages=engine.build_prompt(system_prompt=SYSTEM, history=history)
    )
    assert persisted == [expected]
    assert "".join(deltas) == expected
    assert result == f"saved:{len(expected)}"


async def test_run_turn_with_an_empty_reply_persists_nothing(fake_openai):
    fake_openai.queue_chat("   ")
    persisted: list[str] = []

    async def persist(text: str) -> None:
        persisted.append(text)

    with pytest.raises(AIServiceError) as caught:
        await oneshot.run_turn(
            task="dialogue",
            system_prompt=SYSTEM,
            history=[{"role": "user", "content": "Hello?"}],
            persist=persist,
        )

    assert "empty reply" in caught.value.message
    assert persisted == []
