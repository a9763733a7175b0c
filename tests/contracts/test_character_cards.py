"""Contract of the character card routes (CONTRACTS.md "Character cards", issue 17 item 3).

`POST /api/characters/import` takes a Character Card V1, V2 or V3 as a PNG/APNG (`ccv3` or
`chara` tEXt chunk of base64 JSON, `ccv3` winning) or as JSON, in multipart field `file`, and
answers 201 exactly as `POST /api/characters` does, without a model call. `GET
/api/characters/{id}/card?format=json|png` gives the card back as V3; the PNG carries a
`chara` (V2) and a `ccv3` (V3) chunk, as SillyTavern writes them. `GET
/api/characters/{id}/avatar` serves the imported image. Errors are G's `{"error": ...}`.

Every PNG here is built by the test itself (tests/characters/pngs.py: struct and zlib, the
PNG specification's layout), never by the module under test.
"""

from __future__ import annotations

import copy
import zlib
from pathlib import Path

import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.core.files.uploadedfile import SimpleUploadedFile

from characters import services
from characters.models import Character
from tests.characters import pngs
from tests.factories import CharacterFactory
from tests.helpers import game_error as assert_error
from tests.helpers import json_body as assert_json

pytestmark = pytest.mark.django_db

IMPORT = "/api/characters/import"
BODY_KEYS = {
    "id", "name", "description", "tags", "opening_line", "created_at", "updated_at",
    "userId", "gameId", "class", "level", "stats", "inventory", "avatar", "health", "maxHealth",
}  # fmt: skip

BOOK_V2 = {
    "name": "Harbour lore",
    "description": "What the harbour knows",
    "scan_depth": 4,
    "token_budget": 600,
    "recursive_scanning": False,
    "extensions": {"st/world": "harbour"},
    "entries": [
        {
            "keys": ["lantern", "Lantern Tower"],
            "content": "The lantern tower has burned for 300 years.",
            "extensions": {"st/depth": 4},
            "enabled": True,
            "insertion_order": 10,
            "case_sensitive": False,
            "name": "tower",
            "priority": 5,
            "id": 1,
            "comment": "the tower",
            "selective": True,
            "secondary_keys": ["fire"],
            "constant": False,
            "position": "before_char",
        },
        {
            "keys": ["ferry"],
            "content": "The ferry leaves at dawn.",
            "extensions": {},
            "enabled": False,
            "insertion_order": 20,
        },
    ],
}
V2_DATA = {
    "name": "Mira",
    "description": "A quiet archivist who keeps the lantern tower's maps. «Ünïcödé» 灯台",
    "personality": "calm, curious",
    "scenario": "{{user}} arrives at the tower at night.",
    "first_mes": "*Mira looks up from her maps.* Oh, a visitor?",
    "mes_example": "<START>\n{{user}}: Hello\n{{char}}: Hello to you.",
    "creator_notes": "Best with a slow start.",
    "system_prompt": "{{original}} Stay in character.",
    "post_history_instructions": "Keep replies short.",
    "alternate_greetings": ["*She waves.* Come in!", "Lost again?"],
    "character_book": BOOK_V2,
    "tags": ["calm", "archivist", "Calm"],
    "creator": "someone",
    "character_version": "1.2",
    "extensions": {"talkativeness": "0.5", "fav": False, "depth_prompt": {"depth": 4}},
    "x_unknown_v2_field": {"kept": [1, 2.5, None]},
}
V2_CARD = {"spec": "chara_card_v2", "spec_version": "2.0", "data": V2_DATA}
V3_BOOK = copy.deepcopy(BOOK_V2)
for _index, _entry in enumerate(V3_BOOK["entries"]):
    _entry["use_regex"] = _index == 1
V3_BOOK["entries"][1]["id"] = "ferry-1"
V3_CARD = {
    "spec": "chara_card_v3",
    "spec_version": "3.0",
    "data": {
        **copy.deepcopy(V2_DATA),
        "name": "Mira Vey",
        "character_book": V3_BOOK,
        "nickname": "Mi",
        "creator_notes_multilingual": {"en": "Slow start", "fr": "Début lent"},
        "source": ["https://example.org/mira"],
        "group_only_greetings": ["*Mira nods to everyone.*"],
        "creation_date": 1700000000,
        "modification_date": 1700000500,
        "assets": [{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}],
        "x_future_field": "kept",
    },
}
V1_CARD = {
    "name": "Old Tom",
    "description": "A ferryman.",
    "personality": "gruff",
    "scenario": "At the dock.",
    "first_mes": "Fare's two coins.",
    "mes_example": "",
}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def no_model_call(monkeypatch):
    """An import never asks the model for an opening line."""

    async def refuse(**kwargs):
        raise AssertionError("an import called the model")

    monkeypatch.setattr(services, "opening_line_generate", refuse)


def upload(client, content: bytes, filename: str = "card.png", field: str = "file"):
    body = encode_multipart(BOUNDARY, {field: SimpleUploadedFile(filename, content)})
    return client.generic("POST", IMPORT, body, content_type=MULTIPART_CONTENT)


def card_of(client, character_id: int, fmt: str | None = None):
    query = f"?format={fmt}" if fmt else ""
    return client.get(f"/api/characters/{character_id}/card{query}")


def stored_files(media_root: Path) -> list[Path]:
    return [path for path in media_root.rglob("*") if path.is_file()]


# --- Import -----------------------------------------------------------------------------------


def test_a_v3_png_imports_as_post_api_characters_answers(client, media_root):
    body = assert_json(upload(client, pngs.card_png(("ccv3", V3_CARD))), 201)
    assert set(body) == BODY_KEYS
    data = V3_CARD["data"]
    assert body["name"] == "Mira Vey"
    assert body["description"] == data["description"]
    assert body["opening_line"] == data["first_mes"]
    assert body["tags"] == data["tags"]
    assert body["userId"] is None and body["gameId"] is None
    assert body["avatar"] == f"http://testserver/api/characters/{body['id']}/avatar"
    character = Character.objects.get(pk=body["id"])
    assert character.owner is None
    assert character.character_book == V3_BOOK
    kept = {k: v for k, v in data.items() if k not in {"name", "description", "first_mes", "tags", "character_book"}}  # noqa: E501
    assert character.card == kept
    assert [p.name for p in stored_files(media_root)] == [f"{body['id']}.png"]


def test_an_import_with_a_token_belongs_to_its_user(auth_client, user):
    body = assert_json(upload(auth_client, pngs.card_png(("chara", V2_CARD))), 201)
    character = Character.objects.get(pk=body["id"])
    assert character.owner == user
    assert body["userId"] == user.public_id


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (pngs.card_png(("chara", V2_CARD)), "Mira"),
        (pngs.card_png(("chara", V1_CARD)), "Old Tom"),
        (pngs.card_png(("chara", V2_CARD), ("ccv3", V3_CARD)), "Mira Vey"),
        (pngs.card_png(("ccv3", V3_CARD), ("chara", V2_CARD)), "Mira Vey"),
        (pngs.card_png(("Chara", V2_CARD)), "Mira"),
        (pngs.png(pngs.ztext("chara", pngs.b64(V2_CARD).encode())), "Mira"),
        (pngs.png(pngs.itext("ccv3", pngs.b64(V3_CARD).encode(), compressed=True)), "Mira Vey"),
        (pngs.png(pngs.itext("ccv3", pngs.b64(V3_CARD).encode(), compressed=False)), "Mira Vey"),
        (pngs.card_png(("comment", "hello"), ("chara", V2_CARD)), "Mira"),
    ],
    ids=["v2", "v1-in-chara", "ccv3-wins-after", "ccv3-wins-before", "keyword-case", "ztxt",
         "itxt-compressed", "itxt-plain", "other-text-chunk"],
)  # fmt: skip
def test_png_cards_of_every_layout_import(client, content, name):
    assert assert_json(upload(client, content), 201)["name"] == name


@pytest.mark.parametrize(
    ("card", "name", "opening_line"),
    [
        (V1_CARD, "Old Tom", "Fare's two coins."),
        (V2_CARD, "Mira", V2_DATA["first_mes"]),
        (V3_CARD, "Mira Vey", V2_DATA["first_mes"]),
    ],
    ids=["v1", "v2", "v3"],
)
def test_json_cards_import_without_an_avatar(client, media_root, card, name, opening_line):
    import json

    body = assert_json(upload(client, json.dumps(card).encode(), "card.json"), 201)
    assert (body["name"], body["opening_line"], body["avatar"]) == (name, opening_line, "")
    assert stored_files(media_root) == []


def test_a_v1_card_keeps_its_six_fields(client):
    import json

    body = assert_json(upload(client, json.dumps(V1_CARD).encode(), "card.json"), 201)
    character = Character.objects.get(pk=body["id"])
    assert character.card == {"personality": "gruff", "scenario": "At the dock.", "mes_example": ""}
    assert character.character_book is None


def test_the_avatar_is_the_image_without_its_text_chunks(client):
    body = assert_json(upload(client, pngs.card_png(("comment", "x"), ("ccv3", V3_CARD))), 201)
    answer = client.get(f"/api/characters/{body['id']}/avatar")
    assert answer.status_code == 200 and answer["Content-Type"] == "image/png"
    chunks = pngs.chunks_of(answer.content)
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    original = pngs.chunks_of(pngs.card_png(("ccv3", V3_CARD)))
    assert chunks == [c for c in original if c[0] != b"tEXt"]
