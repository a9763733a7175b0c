"""The lorebook matcher reads client text (a card's keys and content, the chat's messages)
in time proportional to it (the house pattern of tests/test_parsers_linear.py).

A card's regex keys are the attack: `(a+)+$` takes Python's `re` exponential time on a line
of `a`s, and one such key would hold a turn (and a thread) for ever. The matcher runs them on
RE2, so time per kilobyte stays flat from 1 KB to 1 MB whatever the pattern; hypothesis
builds patterns and texts from the characters that make backtracking engines explode. Plain
keys, the `{{char}}` macros and the decorator reader are held to the same line. Time is only
compared with the same code on a smaller input in the same process (best of several tries).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from characters import lorebook
from tests.test_parsers_linear import assert_flat

# What backtracking blows up on: nested and alternated quantifiers over one letter.
PATTERN_ATOMS = st.sampled_from(["a", "a+", "a*", "(a|aa)", "(a+)", "(a*)*", ".", ".*", "b"])
PATTERNS = st.lists(PATTERN_ATOMS, min_size=1, max_size=6).map(
    lambda atoms: "(" + "".join(atoms) + ")+$"
)
TEXT = st.text(alphabet="ab!", max_size=12)
EVIL = ["(a+)+$", "(a|aa)*b", "(a*)*b", "(.*a){20}z", "^(\\w+\\s?)*$", "(a|a?)+$"]


def regex_book(pattern: str) -> dict:
    return {"entries": [{"keys": [pattern], "content": "Lore.", "use_regex": True}]}


def fire(book: dict, tail: str = ""):
    return lambda text: lorebook.lorebook_fire(book, [text + tail])


@settings(max_examples=200, deadline=None, derandomize=True)
@given(pattern=PATTERNS, text=TEXT)
def test_a_regex_key_fires_exactly_when_the_pattern_matches(pattern, text):
    # Small texts, so Python's re (the reference) finishes whatever it backtracks. An empty
    # chat is scanned for nothing.
    expected = bool(text) and re.search(pattern, text, re.IGNORECASE) is not None
    assert bool(lorebook.lorebook_fire(regex_book(pattern), [text])) == expected


@settings(max_examples=200, deadline=None, derandomize=True)
@given(key=st.text(alphabet="aAbB ", min_size=1, max_size=6), text=st.text(alphabet="aAbB "))
def test_a_plain_key_fires_exactly_when_the_text_contains_it(key, text):
    book = {"entries": [{"keys": [key], "content": "Lore."}]}
    expected = bool(key.strip()) and key.strip().lower() in text.lower()
    assert bool(lorebook.lorebook_fire(book, [text])) == expected


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(pattern=PATTERNS)
@example(pattern="(a+)+$")
@example(pattern="(a|aa)*b")
@example(pattern="(.*a){20}z")
def test_a_regex_key_takes_time_in_proportion_to_the_text(pattern):
    # A line of `a`s that fails at its last character: where backtracking tries every split.
    assert_flat(fire(regex_book(pattern), tail="!"), "", "a")
    assert_flat(fire(regex_book(pattern), tail="!"), "", "aab")


@pytest.mark.parametrize("pattern", EVIL)
def test_the_classic_catastrophic_patterns_are_linear(pattern):
    assert_flat(fire(regex_book(pattern), tail="!"), "", "a")
    assert_flat(fire(regex_book(pattern)), "", "a")


@pytest.mark.parametrize("unit", ["a", "ab", "{{", "{{char", "}}{{", "\x01\n"])
def test_plain_keys_are_linear(unit):
    keys = ["a" * 40 + "b", "{{char}}x", "ab" * 20 + "c", "\x01\nz"]
    book = {
        "entries": [
            {"keys": keys, "content": "Lore.", "case_sensitive": case} for case in (True, False)
        ]
    }
    assert_flat(fire(book), "", unit)


@pytest.mark.parametrize("unit", ["{{", "{{char", "{{c", "}}", "{{user}"])
def test_macros_are_linear(unit):
    assert_flat(lambda text: lorebook.macros(text, char="Ada"), "", unit)


@pytest.mark.parametrize("unit", ["@@", "@@scan_depth 1\n", "@@@x\n", "@@a b c"])
def test_the_decorator_reader_is_linear(unit):
    assert_flat(lorebook.decorators, "@@", unit)
