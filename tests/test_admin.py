"""Every model has a working admin: list, search, add and change pages render."""

from __future__ import annotations

import json

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import (
    ChatMessageFactory,
    GameSessionFactory,
    GameTitleFactory,
    message_for,
)

pytestmark = pytest.mark.django_db

MODELS = [
    "accounts.user",
    "games.gametitle",
    "games.game",
    "games.gamesession",
    "games.progress",
    "games.message",
    "characters.character",
    "chats.chat",
    "chats.message",
]


@pytest.fixture
def staff_client() -> Client:
    user = User.objects.create_superuser("editor@example.com", "editor-password-123")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def content():
    session = GameSessionFactory()
    message_for(session, content="The gate creaks open.")
    GameTitleFactory(title="Harbour of Lights")
    ChatMessageFactory(chat__title="At the gate", content="Open the gate, please.")
    return session


def test_every_domain_model_is_registered():
    registered = {f"{m._meta.app_label}.{m._meta.model_name}" for m in admin.site._registry}
    assert set(MODELS) <= registered


@pytest.mark.parametrize("model", MODELS)
def test_changelist_search_and_add_pages_render(staff_client, content, model):
    app, name = model.split(".")
    changelist = reverse(f"admin:{app}_{name}_changelist")
    assert staff_client.get(changelist).status_code == 200
    assert staff_client.get(changelist, {"q": "gate"}).status_code == 200
    assert staff_client.get(reverse(f"admin:{app}_{name}_add")).status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_change_page_renders_with_inlines(staff_client, content, model):
    app, name = model.split(".")
    model_class = next(
        m for m in admin.site._registry if f"{m._meta.app_label}.{m._meta.model_name}" == model
    )
    obj = model_class.objects.first()
    page = staff_client.get(reverse(f"admin:{app}_{name}_change", args=[obj.pk]))
    assert page.status_code == 200
    if model == "games.gamesession":
        assert b"The gate creaks open." in page.content


def test_editor_can_create_a_game_title(staff_client):
    from games.models import GameTitle

    response = staff_client.post(
        reverse("admin:games_gametitle_add"),
        {
            "title": "Salt Road",
            "description": "Caravans.",
            "image": "",
            "genre": "adventure",
            "scenario": "null",
        },
    )
    assert response.status_code == 302
    assert GameTitle.objects.filter(title="Salt Road", genre="adventure").exists()


# --- the lorebook editor (characters/admin.py) -------------------------------------------------

BOOK = {
    "extensions": {"tool": {"kept": True}},
    "entries": [
        {
            "keys": ["lamp"],
            "content": "The lamp burns whale oil.",
            "extensions": {"x": 1},
            "enabled": True,
            "insertion_order": 3,
            "name": "Lamp",
            "position": "before_char",
            "unknown_field": "kept",
        }
    ],
}


def character_form(character, book: str) -> dict:
    return {
        "name": character.name,
        "user_ref": "",
        "character_class": "",
        "level": 1,
        "stats": "{}",
        "health": "{}",
        "inventory": "[]",
        "avatar": "",
        "description": "",
        "tags": "[]",
        "opening_line": "",
        "card": "{}",
        "character_book": book,
    }


def test_a_lorebook_is_saved_from_the_admin_as_the_spec_checks_it(staff_client):
    from characters.models import Character
    from tests.factories import CharacterFactory

    character = CharacterFactory(name="Mira")
    url = reverse("admin:characters_character_change", args=[character.pk])
    response = staff_client.post(url, character_form(character, json.dumps(BOOK)))
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = Character.objects.get(pk=character.pk).character_book
    assert stored == BOOK  # unknown keys and extensions kept

    page = staff_client.get(url).content.decode()
    assert "The lamp burns whale oil." in page  # the JSON, shown for editing
    assert "<td>Lamp</td><td>lamp</td><td>on</td><td>before_char</td><td>3</td>" in page


@pytest.mark.parametrize(
    ("book", "error"),
    [
        ('{"entries": [{"keys": "lamp", "content": "x"}]}', "entries[0].keys: must be a list"),
        ('{"entries": [{"keys": [], "content": "x", "position": "top"}]}', "before_char"),
        ('{"scan_depth": 2}', "character_book.entries: is required"),
        ('{"entries": [', "Enter a valid JSON"),
    ],
)
def test_a_wrong_lorebook_shows_its_error_and_saves_nothing(staff_client, book, error):
    from characters.models import Character
    from tests.factories import CharacterFactory

    character = CharacterFactory(name="Mira", character_book=BOOK)
    url = reverse("admin:characters_character_change", args=[character.pk])
    response = staff_client.post(url, character_form(character, book))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["character_book"]
    assert any(error in message for message in errors), errors
    assert Character.objects.get(pk=character.pk).character_book == BOOK


def test_an_empty_lorebook_field_removes_the_lorebook(staff_client):
    from characters.models import Character
    from tests.factories import CharacterFactory

    character = CharacterFactory(name="Mira", character_book=BOOK)
    url = reverse("admin:characters_character_change", args=[character.pk])
    response = staff_client.post(url, character_form(character, ""))
    assert response.status_code == 302
    assert Character.objects.get(pk=character.pk).character_book is None
