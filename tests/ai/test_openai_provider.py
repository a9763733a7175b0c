"""The openai-compatible provider through `ai.client`, the real SDK path, against a local fake
OpenAI-compatible server (tests/fake_openai.py): requests, answers and failure mapping."""

from __future__ import annotations

import io
import json

import pytest
from asgiref.sync import async_to_sync
from PIL import Image

from ai import client as ai
from ai.errors import AIBadOutput, AIServiceError, AIUnavailable
from ai.providers import diagnostics, get_provider, reset_providers
from config.api.errors import normalise
from tests.fake_openai import (
    CHAT,
    EMBEDDINGS,
    FAKE_API_KEY,
    IMAGES,
    STRUCTURED,
    point_ai_tasks,
    refused_base_url,
)

MESSAGES = [
    {"role": "system", "content": "You are the game master.\nCharacter: Mira, level 2 ranger"},
    {"role": "user", "content": "I open the old door."},
]

CHOICES_SCHEMA = {
    "type": "object",
    "properties": {
        "reply": {"type": "string"},
        "choices": {
            "type": "array",
            "minItems": 2,
            "maxItems": 4,
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "title": {"type": "string"},
                },
                "required": ["id", "title"],
                "additionalProperties": False,
            },
        },
        "nextStep": {"enum": ["plot-outline", "character-design"]},
    },
    "required": ["reply", "choices", "nextStep"],
    "additionalProperties": False,
}
GOOD_CHOICES = {
    "reply": "Pick a direction.",
    "choices": [{"id": "a", "title": "North"}, {"id": "b", "title": "South"}],
    "nextStep": "plot-outline",
}


async def _collect(task: str = "dialogue", messages=MESSAGES) -> list[str]:
    return [delta async for delta in ai.stream_chat(task=task, messages=messages)]


def _json_of(request) -> dict:
    assert isinstance(request.body, dict), request.body
    return request.body


# --- Chat ------------------------------------------------------------------------------------


async def test_stream_chat_yields_the_deltas_in_order(fake_openai, settings):
    fake_openai.queue_chat("The door creaks open onto a dark stair.")

    deltas = await _collect()

    assert deltas == ["The", " door", " creaks", " open", " onto", " a", " dark", " stair."]
    [request] = fake_openai.requests
    body = _json_of(request)
    assert request.path == "/v1/chat/completions"
    assert body["model"] == settings.AI_TASKS["dialogue"]["model"] == "fake-dialogue"
    assert body["stream"] is True
    assert body["messages"] == MESSAGES
    assert "response_format" not in body
    assert request.headers["authorization"] == f"Bearer {FAKE_API_KEY}"


async def test_complete_returns_the_whole_text(fake_openai, settings):
    fake_openai.queue_chat("A hush falls over the hall.")

    text = await ai.complete(task="opening_line", messages=MESSAGES)

    assert text == "A hush falls over the hall."
    [request] = fake_openai.requests
    body = _json_of(request)
    assert body["model"] == settings.AI_TASKS["opening_line"]["model"] == "fake-opening_line"
    assert body["messages"] == MESSAGES
    assert not body.get("stream")


async def test_each_task_sends_its_own_model(fake_openai):
    await ai.complete(task="dialogue", messages=MESSAGES)
    await ai.complete(task="extraction", messages=MESSAGES)

    assert [r.body["model"] for r in fake_openai.requests] == ["fake-dialogue", "fake-extraction"]


async def test_an_unscripted_completion_echoes_the_player(fake_openai):
    assert await ai.complete(task="dialogue", messages=MESSAGES) == (
        "Fake reply to: I open the old door."
    )


# --- Structured output -----------------------------------------------------------------------


async def test_structured_returns_the_validated_object(fake_openai, settings):
    fake_openai.queue_structured(GOOD_CHOICES)

    value = await ai.structured(
        task="choices", messages=MESSAGES, schema=CHOICES_SCHEMA, name="story_choices"
    )

    assert value == GOOD_CHOICES
    [request] = fake_openai.requests
    body = _json_of(request)
    assert body["model"] == settings.AI_TASKS["choices"]["model"] == "fake-choices"
    assert body["messages"] == MESSAGES
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "story_choices"
    assert body["response_format"]["json_schema"]["schema"] == CHOICES_SCHEMA
    assert body["response_format"]["json_schema"]["strict"] is True
    assert not body.get("stream")


async def test_structured_not_json_then_good_succeeds_on_the_retry(fake_openai):
    fake_openai.queue_structured('{"reply": "cut off mid')
    fake_openai.queue_structured(GOOD_CHOICES)

    value = await ai.structured(
        task="choices", messages=MESSAGES, schema=CHOICES_SCHEMA, name="story_choices"
    )

    assert value == GOOD_CHOICES
    assert len(fake_openai.requests_to(CHAT)) == 2
    assert fake_openai.requests[0].body == fake_openai.requests[1].body
    assert fake_openai.pending == 0


async def test_structured_schema_violation_then_good_succeeds_on_the_retry(fake_openai):
    fake_openai.queue_structured({"reply": "only one", "choices": [], "nextStep": "elsewhere"})
    fake_openai.queue_structured(GOOD_CHOICES)

    value = await ai.structured(
        task="choices", messages=MESSAGES, schema=CHOICES_SCHEMA, name="story_choices"
    )

    assert value == GOOD_CHOICES
    assert len(fake_openai.requests_to(CHAT)) == 2


async def test_structured_two_malformed_answers_raise_ai_bad_output(fake_openai):
    fake_openai.queue_structured("not json at all")
    fake_openai.queue_structured({"reply": "valid JSON, wrong shape"})
    fake_openai.queue_structured(GOOD_CHOICES)  # never asked for: only one retry

    with pytest.raises(AIBadOutput) as caught:
        await ai.structured(
            task="choices", messages=MESSAGES, schema=CHOICES_SCHEMA, name="story_choices"
        )

    assert caught.value.code == "AI_SERVICE_ERROR"
    assert isinstance(caught.value, AIServiceError)
    assert "expected format" in caught.value.message
    assert len(fake_openai.requests_to(CHAT)) == 2
    assert fake_openai.pending == 1
    assert normalise(caught.value).status == 502


async def test_structured_unavailable_model_is_not_retried_as_bad_output(fake_openai):
    fake_openai.fail(500, route=STRUCTURED)
    fake_openai.queue_structured(GOOD_CHOICES)

    with pytest.raises(AIUnavailable):
        await ai.structured(
            task="choices", messages=MESSAGES, schema=CHOICES_SCHEMA, name="story_choices"
        )

    assert len(fake_openai.requests) == 1


# --- Images ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "mime", "pillow_format"),
    [
        ("512x512", "image/png", "PNG"),
        ("768x768", "image/jpeg", "JPEG"),
        ("768x768", "image/png", "PNG"),
        ("512x512", "image/jpeg", "JPEG"),
    ],
)
async def test_image_is_real_bytes_of_the_asked_size_and_format(
    fake_openai, settings, size, mime, pillow_format
):
    fake_openai.queue_image(96, 64, "PNG")  # another size than asked, as real models do

    generated = await ai.image(prompt="a lighthouse at dusk", size=size, mime=mime)

    side = int(size.split("x")[0])
    assert (generated.mime, generated.width, generated.height) == (mime, side, side)
    with Image.open(io.BytesIO(generated.data)) as picture:
        assert picture.format == pillow_format
        assert picture.size == (side, side)
    [request] = fake_openai.requests
    body = _json_of(request)
    assert request.path == "/v1/images/generations"
    assert body["model"] == settings.AI_TASKS["images"]["model"] == "fake-images"
    assert body["prompt"] == "a lighthouse at dusk"
    assert body["size"] == size
    assert body["response_format"] == "b64_json"
    assert body["n"] == 1


async def test_image_sent_as_jpeg_is_converted_to_png(fake_openai):
    fake_openai.queue_image(800, 600, "JPEG")

    generated = await ai.image(prompt="a harbour", size="512x512", mime="image/png")

    with Image.open(io.BytesIO(generated.data)) as picture:
        assert (picture.format, picture.size) == ("PNG", (512, 512))


async def test_unreadable_image_bytes_are_a_service_error(fake_openai):
    fake_openai.queue_image_bytes(b"this is not an image")

    with pytest.raises(AIServiceError) as caught:
        await ai.image(prompt="a harbour", size="512x512", mime="image/png")

    assert not isinstance(caught.value, AIUnavailable)
    assert "unreadable image" in caught.value.message


async def test_image_refuses_sizes_outside_the_allowed_set_before_any_request(fake_openai):
    with pytest.raises(ValueError):
        await ai.image(prompt="a harbour", size="1024x1024", mime="image/png")
    with pytest.raises(ValueError):
        await ai.image(prompt="a harbour", size="512x512", mime="image/gif")

    assert fake_openai.requests == []


# --- Embeddings ------------------------------------------------------------------------------


async def test_embeddings_come_back_in_input_order(fake_openai, settings):
    texts = ["a red door", "the sea", "an old lighthouse keeper", "x"]

    vectors = await ai.embed(texts=texts)

    # The fake lists the vectors in reverse; each carries its input index and text length.
    assert [(v[0], v[1]) for v in vectors] == [
        (float(i), float(len(t))) for i, t in enumerate(texts)
    ]
    assert all(len(v) == 8 for v in vectors)
    [request] = fake_openai.requests
    body = _json_of(request)
    assert request.path == "/v1/embeddings"
    assert body["model"] == settings.AI_TASKS["embeddings"]["model"] == "fake-embeddings"
    assert body["input"] == texts


# --- Failures --------------------------------------------------------------------------------


async def _call(capability: str):
    if capability == "stream_chat":
        return await _collect()
    if capability == "complete":
        return await ai.complete(task="dialogue", messages=MESSAGES)
    if capability == "structured":
        return await ai.structured(
            task="choices", messages=MESSAGES, schema=CHOICES_SCHEMA, name="story_choices"
        )
    if capability == "image":
        return await ai.image(prompt="a harbour", size="512x512", mime="image/png")
    return await ai.embed(texts=["a harbour"])


CAPABILITIES = ["stream_chat", "complete", "structured", "image", "embed"]


@pytest.mark.parametrize("capability", CAPABILITIES)
async def test_rate_limit_becomes_unavailable_with_retry_after(fake_openai, capability):
    fake_openai.fail(429, message="Rate limit reached for requests")

    with pytest.raises(AIUnavailable) as caught:
        await _call(capability)

    error = caught.value
    assert error.code == "SERVICE_UNAVAILABLE"
    assert isinstance(error.retry_after, int) and error.retry_after > 0
    assert "rate limited" in error.message
    rendered = normalise(error)
    assert rendered.status == 503
    assert rendered.headers == {"Retry-After": str(error.retry_after)}
    assert len(fake_openai.requests) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
@pytest.mark.parametrize("capability", CAPABILITIES)
async def test_server_errors_become_unavailable(fake_openai, capability, status):
    fake_openai.fail(status)

    with pytest.raises(AIUnavailable) as caught:
        await _call(capability)

    assert f"HTTP {status}" in caught.value.message
    assert caught.value.retry_after > 0
    assert normalise(caught.value).status == 503


@pytest.mark.parametrize("status", [400, 401, 404, 422])
@pytest.mark.parametrize("capability", CAPABILITIES)
async def test_client_errors_become_service_errors(fake_openai, capability, status):
    fake_openai.fail(status, message="This request was refused")

    with pytest.raises(AIServiceError) as caught:
        await _call(capability)

    assert not isinstance(caught.value, AIUnavailable)
    assert caught.value.code == "AI_SERVICE_ERROR"
    assert f"HTTP {status}" in caught.value.message
    assert normalise(caught.value).status == 502
    assert len(fake_openai.requests) == 1


@pytest.mark.parametrize("capability", ["stream_chat", "complete", "structured"])
async def test_a_model_slower_than_the_timeout_is_unavailable(fake_openai, settings, capability):
    point_ai_tasks(settings, fake_openai.base_url, timeout=0.2)
    fake_openai.hang(3)

    with pytest.raises(AIUnavailable) as caught:
        await _call(capability)

    assert "timed out" in caught.value.message
    assert len(fake_openai.requests) == 1


@pytest.mark.parametrize("capability", CAPABILITIES)
async def test_connection_refused_is_unavailable(settings, capability):
    point_ai_tasks(settings, refused_base_url())

    with pytest.raises(AIUnavailable) as caught:
        await _call(capability)

    assert "could not be reached" in caught.value.message
    assert normalise(caught.value).headers["Retry-After"] == str(caught.value.retry_after)


async def test_stream_cut_mid_way_is_unavailable_after_the_first_deltas(fake_openai):
    fake_openai.cut_stream(2, text="one two three four five")
    received: list[str] = []

    with pytest.raises(AIUnavailable):
        async for delta in ai.stream_chat(task="dialogue", messages=MESSAGES):
            received.append(delta)

    assert received == ["one", " two"]


async def test_error_part_inside_a_stream_is_a_service_error(fake_openai):
    fake_openai.stream_error(1, message="The model overloaded mid-answer")
    received: list[str] = []

    with pytest.raises(AIServiceError) as caught:
        async for delta in ai.stream_chat(task="dialogue", messages=MESSAGES):
            received.append(delta)

    assert received == ["Fake"]
    assert caught.value.code == "AI_SERVICE_ERROR"


async def test_the_sdk_retries_a_transient_503_when_retries_are_allowed(fake_openai, settings):
    point_ai_tasks(settings, fake_openai.base_url, max_retries=1)
    # retry-after-ms keeps the SDK's backoff short.
    fake_openai.fail(503, headers={"retry-after-ms": "10"})
    fake_openai.queue_chat("Second time lucky.")

    assert await ai.complete(task="dialogue", messages=MESSAGES) == "Second time lucky."
    assert len(fake_openai.requests) == 2


async def test_the_sdk_does_not_retry_a_refusal(fake_openai, settings):
    point_ai_tasks(settings, fake_openai.base_url, max_retries=2)
    fake_openai.fail(400, headers={"retry-after-ms": "10"})

    with pytest.raises(AIServiceError):
        await ai.complete(task="dialogue", messages=MESSAGES)

    assert len(fake_openai.requests) == 1


# --- Provider selection ----------------------------------------------------------------------


def test_get_provider_picks_per_task_and_caches_until_reset(fake_openai, settings):
    point_ai_tasks(settings, fake_openai.base_url, tasks=("images", "embeddings"))

    images = get_provider("images")
    assert images.name == "openai-compatible"
    assert get_provider("embeddings") is images  # same endpoint, key, timeout: one client
    assert get_provider("dialogue").name == "offline"
    assert get_provider("images") is images

    reset_providers()

    assert get_provider("images") is not images


def test_diagnostics_name_the_remote_tasks_without_secrets(fake_openai, settings):
    point_ai_tasks(settings, fake_openai.base_url, tasks=("images",))

    report = diagnostics()

    assert report["provider"] == "mixed-or-remote"
    assert report["tasks"]["images"] == {
        "provider": "openai-compatible",
        "model": "fake-images",
        "baseUrl": fake_openai.base_url,
    }
    assert report["tasks"]["dialogue"]["provider"] == "offline"
    assert FAKE_API_KEY not in json.dumps(report)


def test_diagnostics_with_every_task_remote(fake_openai):
    report = diagnostics()

    assert report["provider"] == "mixed-or-remote"
    assert {t["provider"] for t in report["tasks"].values()} == {"openai-compatible"}


async def test_mixed_configuration_only_sends_remote_tasks(fake_openai, settings):
    point_ai_tasks(settings, fake_openai.base_url, tasks=("embeddings",))

    text = await ai.complete(task="dialogue", messages=MESSAGES)
    vectors = await ai.embed(texts=["a", "b"])

    assert text.startswith("[offline provider]")
    assert len(vectors) == 2
    assert [r.route for r in fake_openai.requests] == [EMBEDDINGS]
    assert fake_openai.requests_to(IMAGES) == []


def test_clients_are_per_event_loop_so_a_new_loop_per_call_works(fake_openai):
    """async_to_sync (a sync test client, a task worker) runs each call in a new event loop;
    a client whose pooled connection belongs to a closed loop must not be reused."""
    fake_openai.queue_chat("First.")
    fake_openai.queue_chat("Second.")

    first = async_to_sync(ai.complete)(task="dialogue", messages=MESSAGES)
    second = async_to_sync(ai.complete)(task="dialogue", messages=MESSAGES)

    assert (first, second) == ("First.", "Second.")
    assert len(fake_openai.requests) == 2


async def test_one_client_serves_every_call_of_an_event_loop(fake_openai):
    first = get_provider("dialogue")

    await ai.complete(task="dialogue", messages=MESSAGES)

    assert get_provider("dialogue") is first
    assert get_provider("extraction") is first  # same endpoint, key, timeout and retries
