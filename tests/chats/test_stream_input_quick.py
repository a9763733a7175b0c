"""The stream body's quick reader (`chats.ai_serializers.stream_input_quick`): it accepts only
what DRF's `ChatStreamInput` accepts, with the same validated data, and declines the rest (DRF
then words the error); it takes the bodies clients send; its time grows linearly with the body.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chats.ai_serializers import (
    PARTS_MAX,
    REGENERATE,
    ROLES,
    STREAM_MESSAGES_MAX,
    SUBMIT,
    ChatStreamInput,
    stream_input_quick,
)
from chats.models import CLIENT_ID_MAX_CHARS
from tests.helpers import seconds_per_kb

# Strings a careless client or an attacker sends: blank, padded (a trimming field changes
# them), NUL, a lone surrogate, Unicode whitespace, right at and past the length limits.
TRICKY = st.sampled_from(
    [
        "",
        " ",
        "hi",
        " hi",
        "hi ",
        "a\x00b",
        "\ud800",
        "caf\u00e9",
        "\u2003",
        "x\u2003",
        "x" * CLIENT_ID_MAX_CHARS,
        "x" * (CLIENT_ID_MAX_CHARS + 1),
        "m" * 200,
        "m" * 201,
        "t" * 64,
        "t" * 65,
    ]
)
TEXT = TRICKY | st.text(max_size=12)
SCALAR = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
VALUE = st.recursive(
    SCALAR | TEXT,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(TEXT, inner, max_size=2),
    max_leaves=4,
)


def mostly(good, bad=TEXT | VALUE):
    """`good` fifteen times in sixteen, else `bad`: bodies near the valid ones, where a reader
    that accepts too much would show."""
    return st.integers(0, 15).flatmap(lambda n: bad if n == 0 else good)


ID = st.text(alphabet="abu-019", min_size=1, max_size=8)
WORDS = st.text(alphabet="ab \n\u00e9", max_size=8)
PART = st.fixed_dictionaries(
    {"type": mostly(st.sampled_from(["text", "text", "reasoning", "step-start"]))},
    optional={"text": mostly(WORDS), "state": VALUE},
)
MESSAGE = st.fixed_dictionaries(
    {"role": mostly(st.sampled_from(ROLES))},
    optional={
        "id": mostly(ID),
        "content": mostly(WORDS),
        "parts": mostly(st.lists(PART, max_size=3)),
        "metadata": VALUE,
    },
)
BODY = mostly(
    st.fixed_dictionaries(
        {"messages": mostly(st.lists(MESSAGE, max_size=4))},
        optional={
            "model": mostly(ID),
            "conversationId": mostly(ID),
            "id": mostly(ID),
            "trigger": mostly(st.sampled_from([SUBMIT, REGENERATE])),
            "messageId": mostly(ID | st.none()),
            "extra": VALUE,
        },
    ),
    VALUE,
)

SEED = {"messages": [{"role": "user", "content": "Hello"}]}
AI_SDK = {
    "id": "chat-1",
    "trigger": SUBMIT,
    "messageId": None,
    "messages": [
        {"id": "u-1", "role": "user", "parts": [{"type": "text", "text": "Hello"}]},
        {
            "id": "a-1",
            "role": "assistant",
            "parts": [
                {"type": "step-start"},
                {"type": "reasoning", "text": "Think", "state": "done"},
                {"type": "text", "text": "Hi there.", "state": "done"},
            ],
        },
        {"id": "u-2", "role": "user", "parts": [{"type": "text", "text": " Go on \n"}]},
    ],
}
REGENERATE_BODY = {"id": "chat-1", "trigger": REGENERATE, "messageId": "a-1", "messages": []}


def drf(body) -> dict | None:
    serializer = ChatStreamInput(data=body)
    return serializer.validated_data if serializer.is_valid() else None


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=BODY)
@example(body=SEED)
@example(body=AI_SDK)
@example(body=REGENERATE_BODY)
@example(body={"messages": [{"role": "user", "content": "x", "id": " u-1"}]})
@example(body={"messages": [{"role": "user", "parts": [{"type": "text", "text": "\ud800"}]}]})
def test_it_accepts_only_what_drf_accepts_with_the_same_result(body):
    quick = stream_input_quick(body)
    if quick is not None:
        assert quick == drf(body)


@pytest.mark.parametrize("body", [SEED, AI_SDK, REGENERATE_BODY], ids=["seed", "sdk", "regen"])
def test_the_bodies_clients_send_are_read_without_drf(body):
    assert stream_input_quick(body) is not None
    assert stream_input_quick(body) == drf(body)


def test_a_body_at_the_limits_is_read_and_one_past_them_is_left_to_drf():
    part = {"type": "text", "text": "word "}
    message = {"id": "m", "role": "user", "parts": [part] * PARTS_MAX}
    full = {"messages": [message] * STREAM_MESSAGES_MAX}
    assert stream_input_quick(full) == drf(full)
    assert stream_input_quick(full) is not None
    too_many = {"messages": [message] * (STREAM_MESSAGES_MAX + 1)}
    too_many_parts = {"messages": [{**message, "parts": [part] * (PARTS_MAX + 1)}]}
    for body in (too_many, too_many_parts):
        assert stream_input_quick(body) is None
        assert drf(body) is None


@pytest.mark.parametrize(
    "unit", [" ", "a\u2003", "\ud7ff ", "x" * 31 + " "], ids=["blank", "wide-space", "bmp", "text"]
)
def test_its_time_per_kilobyte_stays_flat_from_1_kb_to_1_mb(unit):
    """Compared only with itself on a smaller body, best of three (a busy machine slows both
    sides alike); the house's readers of client text are held to the same (test_parsers_linear)."""

    def body(size: int) -> dict:
        text = unit * max(1, size // len(unit))
        return {"messages": [{"role": "user", "parts": [{"type": "text", "text": text + "!"}]}]}

    small = seconds_per_kb(stream_input_quick, body(1024), 1024)
    large = seconds_per_kb(stream_input_quick, body(1024 * 1024), 1024 * 1024)
    assert large <= 3.0 * small, f"{large * 1e6:.2f} us/KB at 1 MB against {small * 1e6:.2f}"
