"""Property: any card that follows the V2 or V3 specification, imported from a PNG the test
builds in the spec's own layout, exports as the same card, field for field (the V3 card in
`ccv3`, the V2 card in `chara`), and the JSON export is the V3 card."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.characters import pngs

pytestmark = pytest.mark.django_db

TEXT = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=24
)
NAME = TEXT.filter(lambda name: name.strip() and len(name) <= 100)
NUMBER = st.integers(min_value=-(2**53), max_value=2**53) | st.floats(
    allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9
)
JSON = st.recursive(
    st.none() | st.booleans() | NUMBER | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)
EXTENSIONS = st.dictionaries(TEXT, JSON, max_size=3)
ENTRY = st.fixed_dictionaries(
    {
        "keys": st.lists(TEXT, max_size=3),
        "content": TEXT,
        "extensions": EXTENSIONS,
        "enabled": st.booleans(),
        "insertion_order": NUMBER,
    },
    optional={
        "case_sensitive": st.booleans(),
        "name": TEXT,
        "priority": NUMBER,
        "id": st.integers(0, 10**6) | TEXT,
        "comment": TEXT,
        "selective": st.booleans(),
        "secondary_keys": st.lists(TEXT, max_size=2),
        "constant": st.booleans(),
        "position": st.sampled_from(["before_char", "after_char"]),
    },
)
BOOK = st.fixed_dictionaries(
    {"extensions": EXTENSIONS, "entries": st.lists(ENTRY, max_size=3)},
    optional={
        "name": TEXT,
        "description": TEXT,
        "scan_depth": st.integers(0, 100),
        "token_budget": st.integers(0, 10_000),
        "recursive_scanning": st.booleans(),
    },
)
V2_DATA = {
    "name": NAME,
    **{
        key: TEXT
        for key in (
            "description",
            "personality",
            "scenario",
            "first_mes",
            "mes_example",
            "creator_notes",
            "system_prompt",
            "post_history_instructions",
            "creator",
            "character_version",
        )
    },
    "alternate_greetings": st.lists(TEXT, max_size=3),
    "tags": st.lists(TEXT, max_size=3),
    "extensions": EXTENSIONS,
}


def with_regex_flag(book):
    return {**book, "entries": [{**entry, "use_regex": False} for entry in book["entries"]]}


V2_CARDS = st.fixed_dictionaries(
    {
        "spec": st.just("chara_card_v2"),
        "spec_version": st.just("2.0"),
        "data": st.fixed_dictionaries(V2_DATA, optional={"character_book": BOOK}),
    }
)
V3_CARDS = st.fixed_dictionaries(
    {
        "spec": st.just("chara_card_v3"),
        "spec_version": st.just("3.0"),
        "data": st.fixed_dictionaries(
            {
                **V2_DATA,
                "group_only_greetings": st.lists(TEXT, max_size=2),
                "creation_date": st.integers(0, 2**31),
                "modification_date": st.integers(0, 2**31),
            },
            optional={
                "character_book": BOOK.map(with_regex_flag),
                "nickname": TEXT,
                "creator_notes_multilingual": st.dictionaries(
                    st.sampled_from(["en", "fr", "ja"]), TEXT
                ),
                "source": st.lists(TEXT, max_size=2),
                "assets": st.lists(
                    st.fixed_dictionaries({k: TEXT for k in ("type", "uri", "name", "ext")}),
                    max_size=2,
                ),
            },
        ),
    }
)
ROUND_TRIP = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def round_trip(client, keyword: str, card: dict) -> tuple[dict, dict]:
    """(the tEXt cards of the exported PNG, the JSON export) of the card imported as a PNG."""
    file = SimpleUploadedFile("card.png", pngs.card_png((keyword, card)))
    body = encode_multipart(BOUNDARY, {"file": file})
    answer = client.generic("POST", "/api/characters/import", body, content_type=MULTIPART_CONTENT)
    assert answer.status_code == 201, answer.content
    character_id = answer.json()["id"]
    exported = client.get(f"/api/characters/{character_id}/card?format=png")
    assert exported.status_code == 200
    return pngs.text_chunks(exported.content), client.get(
        f"/api/characters/{character_id}/card"
    ).json()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@ROUND_TRIP
@given(card=V3_CARDS)
def test_any_v3_card_comes_back_the_same(client, card):
    texts, as_json = round_trip(client, "ccv3", card)
    assert texts["ccv3"] == card
    assert as_json == card


@ROUND_TRIP
@given(card=V2_CARDS)
def test_any_v2_card_comes_back_the_same(client, card):
    texts, _ = round_trip(client, "chara", card)
    assert texts["chara"] == card
