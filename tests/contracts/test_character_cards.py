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
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

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
    kept = {
        k: v
        for k, v in data.items()
        if k not in {"name", "description", "first_mes", "tags", "character_book"}
    }
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


def test_the_v1_copies_sillytavern_puts_beside_data_are_not_kept(client):
    import json

    card = {**V2_CARD, "name": "Top", "first_mes": "top", "chat": "Mira - 2024", "fav": True}
    body = assert_json(upload(client, json.dumps(card).encode(), "card.json"), 201)
    assert (body["name"], body["opening_line"]) == ("Mira", V2_DATA["first_mes"])
    assert assert_json(card_of(client, body["id"]))["data"]["name"] == "Mira"
    texts = pngs.text_chunks(exported_png(client, body["id"]))
    assert texts["chara"] == V2_CARD


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


def test_an_apng_keeps_its_animation_chunks_in_the_avatar_and_the_export(client):
    import struct

    frame = struct.pack(">IIIIIHHBB", 0, 2, 2, 0, 0, 1, 10, 0, 0)
    second = struct.pack(">IIIIIHHBB", 2, 2, 2, 0, 0, 1, 10, 0, 0)
    fdat = struct.pack(">I", 3) + zlib.compress((b"\x00" + b"\x01\x02\x03" * 2) * 2)
    content = (
        pngs.SIGNATURE
        + pngs.ihdr()
        + pngs.chunk(b"acTL", struct.pack(">II", 2, 0))
        + pngs.chunk(b"fcTL", frame)
        + pngs.idat()
        + pngs.chunk(b"fcTL", second)
        + pngs.chunk(b"fdAT", fdat)
        + pngs.text("ccv3", pngs.b64(V3_CARD))
        + pngs.IEND
    )
    character_id = imported(client, content)
    animation = [b"IHDR", b"acTL", b"fcTL", b"IDAT", b"fcTL", b"fdAT"]
    avatar = client.get(f"/api/characters/{character_id}/avatar").content
    assert [kind for kind, _ in pngs.chunks_of(avatar)] == [*animation, b"IEND"]
    exported = exported_png(client, character_id)
    assert [kind for kind, _ in pngs.chunks_of(exported)] == [
        *animation,
        b"tEXt",
        b"tEXt",
        b"IEND",
    ]
    assert pngs.text_chunks(exported)["ccv3"] == V3_CARD


def test_with_tokens_required_an_import_needs_one(settings, client):
    settings.GAME_REQUIRE_AUTH = True
    assert_error(upload(client, pngs.card_png(("ccv3", V3_CARD))), 401)
    assert Character.objects.count() == 0


# --- Export and the round trip ---------------------------------------------------------------


def imported(client, content: bytes) -> int:
    return assert_json(upload(client, content), 201)["id"]


def exported_png(client, character_id: int) -> bytes:
    answer = card_of(client, character_id, "png")
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"] == "image/png"
    return answer.content


def test_a_v3_png_exports_the_same_card_field_for_field(client):
    character_id = imported(client, pngs.card_png(("ccv3", V3_CARD)))
    content = exported_png(client, character_id)
    assert pngs.text_chunks(content)["ccv3"] == V3_CARD
    assert assert_json(card_of(client, character_id)) == V3_CARD
    assert assert_json(card_of(client, character_id, "json")) == V3_CARD
    # ... and importing the export again gives the same card once more
    again = imported(client, content)
    assert pngs.text_chunks(exported_png(client, again))["ccv3"] == V3_CARD


def test_a_v2_png_exports_the_same_v2_card_and_its_v3_form(client):
    character_id = imported(client, pngs.card_png(("chara", V2_CARD)))
    texts = pngs.text_chunks(exported_png(client, character_id))
    assert texts["chara"] == V2_CARD
    v3 = texts["ccv3"]
    assert (v3["spec"], v3["spec_version"]) == ("chara_card_v3", "3.0")
    created = Character.objects.get(pk=character_id)
    extra = {
        "group_only_greetings": [],
        "creation_date": int(created.created_at.timestamp()),
        "modification_date": int(created.updated_at.timestamp()),
    }
    book = copy.deepcopy(BOOK_V2)
    for entry in book["entries"]:
        entry["use_regex"] = False
    assert v3["data"] == {**V2_DATA, **extra, "character_book": book}
    # The V2 chunk of the export imports to the same V2 card again.
    again = imported(client, pngs.card_png(("chara", texts["chara"])))
    assert pngs.text_chunks(exported_png(client, again))["chara"] == V2_CARD


def test_the_export_png_is_the_imported_image_with_chara_then_ccv3_before_iend(client):
    source = pngs.card_png(("ccv3", V3_CARD))
    character_id = imported(client, source)
    chunks = pngs.chunks_of(exported_png(client, character_id))
    kinds = [kind for kind, _ in chunks]
    assert kinds == [b"IHDR", b"IDAT", b"tEXt", b"tEXt", b"IEND"]
    assert [data.split(b"\x00")[0] for kind, data in chunks if kind == b"tEXt"] == [
        b"chara",
        b"ccv3",
    ]
    original = dict(pngs.chunks_of(source)[:2])
    assert dict(chunks[:2]) == original


def test_a_character_without_an_image_exports_a_generated_png(client):
    character = CharacterFactory(name="Mira", description="An archivist.", game=None)
    character.opening_line = "Hello."
    character.save()
    chunks = pngs.chunks_of(exported_png(client, character.pk))
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"tEXt", b"tEXt", b"IEND"]
    assert chunks[0][1][:8] == (256).to_bytes(4, "big") * 2
    zlib.decompress(chunks[1][1])  # real image data
    card = assert_json(card_of(client, character.pk))
    data = card["data"]
    assert (data["name"], data["description"], data["first_mes"]) == (
        "Mira",
        "An archivist.",
        "Hello.",
    )
    assert data["alternate_greetings"] == [] and data["extensions"] == {}
    assert "character_book" not in data


def test_the_download_has_a_safe_filename(client):
    character = CharacterFactory(name='../../etc/pa"ss\r\nX-Evil: 1', game=None)
    for fmt, extension in (("json", "json"), ("png", "png")):
        answer = card_of(client, character.pk, fmt)
        assert answer.status_code == 200
        assert (
            answer["Content-Disposition"]
            == f'attachment; filename="etc_pa_ss__X-Evil_ 1.{extension}"'
        )


def test_a_unicode_name_is_kept_in_the_utf8_filename(client):
    character = CharacterFactory(name="灯台 Mira", game=None)
    disposition = card_of(client, character.pk, "png")["Content-Disposition"]
    assert disposition == "attachment; filename*=utf-8''%E7%81%AF%E5%8F%B0%20Mira.png"


def test_an_unknown_format_is_a_400(client):
    character = CharacterFactory(game=None)
    assert_error(card_of(client, character.pk, "xml"), 400, "format: must be 'json' or 'png'")


@pytest.mark.parametrize("path", ["card", "card?format=png", "avatar"])
def test_unknown_characters_are_404(client, path):
    assert_error(client.get(f"/api/characters/999999/{path}"), 404, "not found")
    assert_error(client.get(f"/api/characters/abc/{path}"), 404, "not found")


def test_a_character_not_imported_from_a_png_has_no_avatar_image(client):
    character = CharacterFactory(game=None)
    assert_error(client.get(f"/api/characters/{character.pk}/avatar"), 404, "no imported image")


@pytest.mark.parametrize("path", ["card", "card?format=png", "avatar"])
def test_private_characters_are_hidden_as_get_characters_id_hides_them(
    settings, auth_client, other_auth_client, client, path
):
    settings.GAME_REQUIRE_AUTH = True
    character_id = imported(auth_client, pngs.card_png(("ccv3", V3_CARD)))
    assert auth_client.get(f"/api/characters/{character_id}").status_code == 200
    assert auth_client.get(f"/api/characters/{character_id}/{path}").status_code == 200
    for stranger in (other_auth_client, client):
        expected = stranger.get(f"/api/characters/{character_id}")
        assert expected.status_code in (401, 404)
        answer = stranger.get(f"/api/characters/{character_id}/{path}")
        assert (answer.status_code, answer.json()) == (expected.status_code, expected.json())


def test_deleting_the_character_deletes_its_image(
    client, media_root, django_capture_on_commit_callbacks
):
    character_id = imported(client, pngs.card_png(("ccv3", V3_CARD)))
    assert len(stored_files(media_root)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/api/characters/{character_id}").status_code == 200
    assert stored_files(media_root) == []


# --- Bad input: a 400 (or 413) in G's envelope, and nothing stored ------------------------------


def v2_with(**data) -> dict:
    card = copy.deepcopy(V2_CARD)
    card["data"].update(data)
    return card


def v3_with(**data) -> dict:
    card = copy.deepcopy(V3_CARD)
    card["data"].update(data)
    return card


def bad_entry_card() -> dict:
    card = copy.deepcopy(V3_CARD)
    card["data"]["character_book"]["entries"][1]["keys"] = "ferry"
    return card


def json_file(value) -> bytes:
    import json

    return json.dumps(value).encode("utf-8")


BAD_FILES = {
    "gif": (b"GIF89a" + b"\x00" * 40, "file: neither a PNG/APNG image nor a JSON character card"),
    "empty": (b"", "file: neither a PNG/APNG image nor a JSON character card"),
    "png-without-card": (
        pngs.card_png(("comment", "just a picture")),
        "file: the PNG carries no character card (no 'ccv3' or 'chara' chunk)",
    ),
    "bad-base64": (
        pngs.card_png(("chara", "not base64!")),
        "file (chara chunk): is not valid base64",
    ),
    "base64-of-not-json": (
        pngs.card_png(("ccv3", "bm90IGpzb24=")),
        "file (ccv3 chunk): is not valid JSON",
    ),
    "base64-of-not-utf8": (pngs.card_png(("ccv3", "//79")), "file (ccv3 chunk): is not UTF-8 text"),
    "ccv3-wins-even-broken": (
        pngs.card_png(("chara", V2_CARD), ("ccv3", "%%%")),
        "file (ccv3 chunk): is not valid base64",
    ),
    "bad-json-file": (b'{"name": "Mira",', "file: is not valid JSON"),
    "nan-json": (b'{"name": NaN}', "file: is not valid JSON (NaN is not JSON)"),
    "deep-json": (b'{"a":' + b"[" * 100_000, "file: is nested too deeply"),
    "not-an-object": (json_file([V2_CARD]), "card: must be a JSON object"),
    "unknown-spec": (
        json_file({**V2_CARD, "spec": "chara_card_v9"}),
        "spec: unknown ('chara_card_v9'); expected 'chara_card_v2' or 'chara_card_v3'",
    ),
    "lorebook-spec": (
        json_file({"spec": "lorebook_v3", "data": {}}),
        "spec: unknown ('lorebook_v3')",
    ),
    "spec-not-a-string": (json_file({**V2_CARD, "spec": 3}), "spec: unknown (not a string)"),
    "data-missing": (json_file({"spec": "chara_card_v2"}), "data: is required (an object)"),
    "data-not-object": (
        json_file({"spec": "chara_card_v3", "data": []}),
        "data: must be an object",
    ),
    "no-spec-no-name": (json_file({"data": V2_DATA}), "spec: is missing"),
    "v2-missing-name": (
        json_file({"spec": "chara_card_v2", "data": {"description": "x"}}),
        "data.name: is required (a string)",
    ),
    "v1-missing-name": (json_file({"description": "x"}), "name: is required (a string)"),
    "blank-name": (json_file(v2_with(name="   ")), "data.name: must not be blank"),
    "long-name": (json_file(v2_with(name="x" * 101)), "data.name: must be at most 100 characters"),
    "name-not-string": (json_file(v2_with(name=7)), "data.name: must be a string"),
    "description-not-string": (
        pngs.card_png(("chara", v2_with(description=["x"]))),
        "data.description: must be a string",
    ),
    "tags-not-list": (json_file(v2_with(tags="a,b")), "data.tags: must be a list of strings"),
    "greetings-with-number": (
        json_file(v3_with(alternate_greetings=["hi", 2])),
        "data.alternate_greetings: must be a list of strings",
    ),
    "extensions-not-object": (
        json_file(v2_with(extensions=[])),
        "data.extensions: must be an object",
    ),
    "v3-group-greetings": (
        json_file(v3_with(group_only_greetings="hi")),
        "data.group_only_greetings: must be a list of strings",
    ),
    "v3-asset-without-uri": (
        json_file(v3_with(assets=[{"type": "icon", "name": "main", "ext": "png"}])),
        "data.assets[0].uri: is required (a string)",
    ),
    "v3-date-not-number": (
        json_file(v3_with(creation_date="2024")),
        "data.creation_date: must be a number",
    ),
    "v3-notes-map": (
        json_file(v3_with(creator_notes_multilingual={"en": 1})),
        "data.creator_notes_multilingual.en: must be a string",
    ),
    "lorebook-entry-shape": (
        pngs.card_png(("ccv3", bad_entry_card())),
        "data.character_book.entries[1].keys: must be a list of strings",
    ),
    "lorebook-not-object": (
        json_file(v2_with(character_book=["x"])),
        "data.character_book: must be an object",
    ),
    "null-character": (
        json_file(v2_with(scenario="a\u0000b")),
        "card.data.scenario: Null characters are not allowed",
    ),
    "lone-surrogate": (
        b'{"name": "Mira", "description": "\\ud800"}',
        "card.description: is not valid Unicode",
    ),
    "crc-error": (
        pngs.SIGNATURE
        + pngs.ihdr()
        + pngs.chunk(b"tEXt", b"chara\x00" + pngs.b64(V2_CARD).encode(), crc=1)
        + pngs.IEND,
        "file: PNG chunk tEXt fails its CRC check",
    ),
    "no-iend": (
        pngs.card_png(("chara", V2_CARD))[:-12],
        "file: the PNG ends before its IEND chunk",
    ),
    "chunk-past-the-end": (
        pngs.SIGNATURE + pngs.ihdr() + (1000).to_bytes(4, "big") + b"tEXt" + b"x" * 20,
        "file: PNG chunk tEXt is longer than the file",
    ),
    "no-ihdr": (
        pngs.SIGNATURE + pngs.text("chara", pngs.b64(V2_CARD)) + pngs.IEND,
        "file: the PNG does not start with a valid IHDR chunk",
    ),
    "zero-width": (
        pngs.SIGNATURE + pngs.ihdr(0, 5) + pngs.text("chara", pngs.b64(V2_CARD)) + pngs.IEND,
        "file: the PNG has no pixels",
    ),
    "bad-chunk-type": (
        pngs.SIGNATURE + pngs.ihdr() + pngs.chunk(b"t3Xt", b"") + pngs.IEND,
        "file: a PNG chunk type is not four letters",
    ),
    "bad-zlib": (
        pngs.png(pngs.chunk(b"zTXt", b"chara\x00\x00not zlib")),
        "file: text chunk 'chara' is not valid zlib data",
    ),
    "truncated-zlib": (
        pngs.png(pngs.chunk(b"zTXt", b"chara\x00\x00" + zlib.compress(b"x" * 1000)[:-6])),
        "file: text chunk 'chara' is truncated zlib data",
    ),
    "ztxt-unknown-method": (
        pngs.png(pngs.chunk(b"zTXt", b"chara\x00\x07abc")),
        "file: zTXt chunk 'chara' uses an unknown compression method",
    ),
    "itxt-truncated": (
        pngs.png(pngs.chunk(b"iTXt", b"ccv3\x00\x00")),
        "file: iTXt chunk 'ccv3' is truncated",
    ),
}


@pytest.mark.parametrize(("content", "message"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_card_is_a_400_naming_the_problem_and_nothing_is_stored(
    client, media_root, content, message
):
    text = assert_error(upload(client, content), 400)
    assert text.startswith(message), text
    assert Character.objects.count() == 0
    assert stored_files(media_root) == []


def test_a_missing_file_field_is_a_400(client):
    answer = upload(client, pngs.card_png(("chara", V2_CARD)), field="card")
    assert_error(answer, 400, "file: is required")
    assert Character.objects.count() == 0


def test_a_json_body_is_a_415(client):
    assert_error(client.post(IMPORT, V2_CARD), 415)
    assert Character.objects.count() == 0


def test_a_file_over_the_card_limit_is_a_413(settings, auth_client, media_root):
    settings.CHARACTER_CARD_MAX_BYTES = 2000
    content = pngs.card_png(("chara", v2_with(description="x" * 3000)))
    assert_error(upload(auth_client, content), 413, "file: over 2000 bytes")
    assert Character.objects.count() == 0
    assert stored_files(media_root) == []


def test_a_body_over_the_request_limit_is_a_413_in_g_envelope(settings, client):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 3000
    content = pngs.card_png(("chara", v2_with(description="x" * 5000)))
    assert_error(upload(client, content), 413, "too large")
    assert Character.objects.count() == 0


def test_too_many_pixels_is_a_413(client, media_root):
    content = (
        pngs.SIGNATURE + pngs.ihdr(5000, 5000) + pngs.text("chara", pngs.b64(V2_CARD)) + pngs.IEND
    )
    assert_error(upload(client, content), 413, "the image is 5000x5000 pixels")
    assert Character.objects.count() == 0


def test_too_many_chunks_is_a_413(settings, client):
    settings.CHARACTER_CARD_MAX_CHUNKS = 10
    content = pngs.png(
        *[pngs.chunk(b"tIMe", b"\x07\xe8\x01\x01\x00\x00\x00")] * 10,
        pngs.text("chara", pngs.b64(V2_CARD)),
    )
    assert_error(upload(client, content), 413, "more than 10 PNG chunks")
    assert Character.objects.count() == 0


@pytest.mark.parametrize("kind", ["ztxt", "itxt"])
def test_a_compressed_text_bomb_is_refused_without_inflating_it(settings, client, kind):
    settings.CHARACTER_CARD_MAX_BYTES = 100_000
    bomb = b"A" * 50_000_000  # 50 MB of base64 alphabet: about 50 KB compressed
    chunk = (
        pngs.ztext("chara", bomb) if kind == "ztxt" else pngs.itext("chara", bomb, compressed=True)
    )
    content = pngs.png(chunk)
    assert len(content) < 100_000
    assert_error(upload(client, content), 413, "inflates past 100000 bytes")
    assert Character.objects.count() == 0


# --- OpenAPI -------------------------------------------------------------------------------------


def test_the_schema_describes_the_card_routes():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    post = paths["/api/characters/import"]["post"]
    form = post["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["$ref"].endswith("/CharacterImportInputRequest")
    assert {"201", "400", "413", "415"} <= set(post["responses"])
    get = paths["/api/characters/{character_id}/card"]["get"]
    assert set(get["responses"]["200"]["content"]) == {"application/json", "image/png"}
    assert get["responses"]["200"]["headers"]["Content-Disposition"]
    (fmt,) = [p for p in get["parameters"] if p["name"] == "format"]
    assert fmt["schema"]["enum"] == ["json", "png"] and fmt["schema"]["default"] == "json"
    avatar = paths["/api/characters/{character_id}/avatar"]["get"]
    assert set(avatar["responses"]["200"]["content"]) == {"image/png"}
    assert {"404"} <= set(avatar["responses"])
