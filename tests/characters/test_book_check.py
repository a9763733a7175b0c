"""`characters.cards.book_check`: a lorebook (V2 CharacterBook, V3 Lorebook) checked and
normalised, unknown keys kept, a wrong shape named by its path."""

from __future__ import annotations

import pytest

from characters.cards import book_check
from characters.errors import CardError
from core.errors import ValidationFailed


def entry(**fields):
    return {
        "keys": ["dragon"],
        "content": "Dragons breathe fire.",
        "extensions": {},
        "enabled": True,
        "insertion_order": 1,
        **fields,
    }


def test_a_full_v3_book_comes_back_equal_with_unknown_keys_kept():
    book = {
        "name": "World",
        "description": "lore",
        "scan_depth": 4,
        "token_budget": 512,
        "recursive_scanning": False,
        "extensions": {"st/x": 1},
        "x_unknown": [1, 2],
        "entries": [
            entry(
                case_sensitive=True,
                use_regex=False,
                constant=False,
                name="n",
                priority=10,
                id="e1",
                comment="c",
                selective=True,
                secondary_keys=["wyrm"],
                position="after_char",
                extra_field={"kept": True},
            ),
            entry(id=7, position="before_char", priority=2.5),
        ],
    }
    assert book_check(book) == book


def test_defaults_fill_what_a_lenient_card_leaves_out():
    out = book_check({"entries": [{"keys": ["a"], "content": "b"}]})
    assert out == {
        "extensions": {},
        "entries": [
            {"keys": ["a"], "content": "b", "extensions": {}, "enabled": True, "insertion_order": 0}
        ],
    }


def test_null_optional_fields_are_accepted_and_kept():
    book = {"extensions": {}, "name": None, "entries": [entry(case_sensitive=None, id=None)]}
    assert book_check(book) == book


def test_the_input_is_not_changed():
    book = {"entries": [{"keys": ["a"], "content": "b"}]}
    book_check(book)
    assert book == {"entries": [{"keys": ["a"], "content": "b"}]}


@pytest.mark.parametrize(
    ("book", "message"),
    [
        ([], "character_book: must be an object"),
        ({}, "character_book.entries: is required (a list of entries, maybe empty)"),
        ({"entries": {}}, "character_book.entries: must be a list"),
        ({"entries": [1]}, "character_book.entries[0]: must be an object"),
        (
            {"entries": [entry(), entry(), entry(), entry(keys="dragon")]},
            "character_book.entries[3].keys: must be a list of strings",
        ),
        (
            {"entries": [entry(keys=[1])]},
            "character_book.entries[0].keys: must be a list of strings",
        ),
        (
            {"entries": [{"content": "x"}]},
            "character_book.entries[0].keys: is required (a list of strings)",
        ),
        ({"entries": [{"keys": []}]}, "character_book.entries[0].content: is required (a string)"),
        ({"entries": [entry(content=5)]}, "character_book.entries[0].content: must be a string"),
        (
            {"entries": [entry(enabled="yes")]},
            "character_book.entries[0].enabled: must be true or false",
        ),
        (
            {"entries": [entry(insertion_order="1")]},
            "character_book.entries[0].insertion_order: must be a number",
        ),
        (
            {"entries": [entry(insertion_order=True)]},
            "character_book.entries[0].insertion_order: must be a number",
        ),
        (
            {"entries": [entry(insertion_order=float("nan"))]},
            "character_book.entries[0].insertion_order: must be a number",
        ),
        (
            {"entries": [entry(extensions=[])]},
            "character_book.entries[0].extensions: must be an object",
        ),
        (
            {"entries": [entry(use_regex=1)]},
            "character_book.entries[0].use_regex: must be true or false",
        ),
        (
            {"entries": [entry(secondary_keys="a,b")]},
            "character_book.entries[0].secondary_keys: must be a list of strings",
        ),
        (
            {"entries": [entry(position="top")]},
            "character_book.entries[0].position: must be 'before_char' or 'after_char'",
        ),
        (
            {"entries": [entry(id=[1])]},
            "character_book.entries[0].id: must be a number or a string",
        ),
        (
            {"entries": [entry(priority="high")]},
            "character_book.entries[0].priority: must be a number",
        ),
        ({"entries": [], "scan_depth": -1}, "character_book.scan_depth: must be 0 or more"),
        ({"entries": [], "token_budget": "1"}, "character_book.token_budget: must be a number"),
        (
            {"entries": [], "recursive_scanning": "no"},
            "character_book.recursive_scanning: must be true or false",
        ),
        ({"entries": [], "name": 3}, "character_book.name: must be a string"),
        ({"entries": [], "extensions": None}, "character_book.extensions: must be an object"),
    ],
)
def test_a_wrong_shape_is_named_by_its_path(book, message):
    with pytest.raises(CardError) as caught:
        book_check(book)
    assert caught.value.message == message
    assert isinstance(caught.value, ValidationFailed)


def test_the_path_prefix_can_be_chosen():
    with pytest.raises(CardError, match=r"^data\.character_book\.entries: must be a list$"):
        book_check({"entries": 1}, "data.character_book")


def test_a_card_file_over_the_limit_is_refused_before_it_is_read(settings):
    from characters.card_files import card_file_read
    from characters.errors import CardTooLarge

    settings.CHARACTER_CARD_MAX_BYTES = 10
    with pytest.raises(CardTooLarge, match="at most 10 bytes"):
        card_file_read(b'{"name": "Mira"}')
