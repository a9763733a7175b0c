"""Every reader of client text costs time in proportion to the text (security issue, item 1).

A body of 70 `[`, one `"` and `\\"` repeated 30,000 times once held a process for 12 s: the
depth check stripped strings with a regex that backtracked from every quote of an unclosed
string. These tests generate adversarial texts (escapes, unclosed quotes, brackets inside
strings) and check two things: the depth check counts exactly what a character-by-character
reader counts on valid JSON, and the time per kilobyte of each reader stays flat from 1 KB to
1 MB, to within 3x. Time is compared only against the same code on a smaller input in the same
process, and each figure is the best of several tries, so a slow or busy machine slows both
sides alike.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ai.providers import offline
from config import logredact
from config.api import fields, parsers, request_id
from config.api.parsers import JsonInputError, json_depth_check, json_parse
from media_library import selectors
from tests.helpers import seconds_per_kb

KB = 1024
SMALL, LARGE = KB, 1024 * KB
FLAT_WITHIN = 3.0
# What an attacker builds bodies from: JSON's structural characters, escapes and quotes.
ADVERSARIAL = st.text(alphabet='[]{}"\\u0dD8aF,: ', min_size=1, max_size=24)


def reference_depth(text: str) -> int:
    """The nesting depth of a valid JSON text, read one character at a time."""
    depth = deepest = 0
    in_string = escaped = False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif character in "]}":
            depth -= 1
    return deepest


def sized(prefix: str, unit: str, size: int) -> str:
    return prefix + unit * max(1, (size - len(prefix)) // len(unit))


def assert_flat(read, prefix: str, unit: str) -> None:
    small = seconds_per_kb(read, sized(prefix, unit, SMALL))
    large = seconds_per_kb(read, sized(prefix, unit, LARGE))
    assert large <= FLAT_WITHIN * small, (
        f"{unit!r}: {large * 1e6:.1f} us/KB at 1 MB against {small * 1e6:.1f} us/KB at 1 KB"
    )


def depth_check(text: str) -> None:
    with contextlib.suppress(JsonInputError):
        json_depth_check(text, 64)


def whole_parse(text: str) -> None:
    with contextlib.suppress(JsonInputError):
        json_parse(text, max_depth=64)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab\n,:'),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\ab', max_size=4), children, max_size=3)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES, limit=st.integers(min_value=0, max_value=6))
def test_the_depth_check_counts_what_a_character_reader_counts(value, limit):
    text = json.dumps(value)
    deep = reference_depth(text) > limit
    if deep:
        with pytest.raises(JsonInputError, match="nested deeper"):
            json_depth_check(text, limit)
    else:
        json_depth_check(text, limit)


@pytest.mark.parametrize(
    "text, depth",
    [
        ('["\\\\", [["\\"]"]]]', 3),  # an escaped backslash ends before the closing quote
        ('[["\\\\\\"[[["]]', 2),  # three backslashes and a quote: the quote is escaped
        ('[{"a[": "}{", "b": [[]]}]', 4),
        ("[" * 65 + "]" * 65, 65),
        ("[" * 65, 65),  # openers left unclosed count as levels
    ],
)
def test_escapes_and_brackets_inside_strings_are_read_as_json_reads_them(text, depth):
    assert reference_depth(text) == depth
    json_depth_check(text, depth)
    with pytest.raises(JsonInputError, match="nested deeper"):
        json_depth_check(text, depth - 1)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(unit=ADVERSARIAL)
@example(unit='\\"')  # the body that froze a process: an unclosed string of escaped quotes
@example(unit='"\\"')
@example(unit="\\")
@example(unit="[")
@example(unit='["')
@example(unit="[" * 64 + "]" * 64)
def test_the_json_reader_takes_time_in_proportion_to_the_text(unit):
    # Seventy openers first, so every size takes the full check, not the few-openers shortcut.
    assert_flat(depth_check, "[" * 70 + '"', unit)
    assert_flat(whole_parse, "[" * 70 + '"', unit)
    assert_flat(whole_parse, '{"a": "', unit)


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda text: offline._WORD_RE.findall(text.lower()), id="offline-words"),
        pytest.param(lambda text: selectors._WORD.findall(text.casefold()), id="search-terms"),
        pytest.param(lambda text: request_id._SANE.match(text), id="request-id"),
        pytest.param(lambda text: fields._INT_RE.match(text.strip()), id="integer-id"),
        pytest.param(lambda text: parsers._SUSPECT_TEXT.search(text), id="suspect-escapes"),
        pytest.param(logredact.redact, id="log-redaction"),
    ],
)
@pytest.mark.parametrize(
    "unit", ["a'-", "9", "\\ud800", "\\udc00\\ud800", "a-'b c", "é-", "?token=", "&to=ke"]
)
def test_every_other_pattern_on_client_text_is_linear(read, unit):
    assert_flat(read, "", unit + "x")
