"""The characters' admin, with a lorebook editor.

The lorebook (`character_book`) is edited as the specification's JSON, pretty-printed, and
checked on save by `cards.book_check`, whose message names the wrong field by its path
(`character_book.entries[2].keys: must be a list of strings`) on the form. Beside it, a
read-only table lists the entries (keys, state, position, order) so a book can be read at a
glance. Why JSON and not one form per entry: the specifications require unknown keys and
every `extensions` object to survive an edit, and a fixed per-entry form would drop what it
does not know; the JSON is also what a card carries, so a book can be pasted in or out.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.utils.html import format_html, format_html_join

from characters.cards import book_check
from characters.errors import CardError
from characters.models import Character

BOOK_HELP = (
    "The lorebook as a Character Card V2/V3 `character_book`: "
    '{"entries": [{"keys": ["lamp"], "content": "…", "enabled": true, '
    '"insertion_order": 0, "position": "before_char"}], "scan_depth": 2, '
    '"token_budget": 500}. Entries fire when a key is in the newest `scan_depth` messages '
    "(README: Lorebooks). Empty: no lorebook."
)


class LorebookField(forms.JSONField):
    """JSON shown indented, checked against the card specifications."""

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput) or value is None:
            return super().prepare_value(value)
        return json.dumps(value, ensure_ascii=False, indent=2)

    def validate(self, value):
        super().validate(value)
        if value is None:
            return
        try:
            book_check(value)
        except CardError as exc:
            raise forms.ValidationError(exc.message, code="invalid_lorebook") from None


class CharacterAdminForm(forms.ModelForm):
    character_book = LorebookField(
        required=False,
        label="Lorebook",
        help_text=BOOK_HELP,
        widget=forms.Textarea(attrs={"rows": 24, "cols": 100, "style": "font-family: monospace"}),
    )

    class Meta:
        model = Character
        fields = (
            "name",
            "game",
            "user_ref",
            "owner",
            "character_class",
            "level",
            "stats",
            "health",
            "inventory",
            "avatar",
            "description",
            "tags",
            "opening_line",
            "character_book",
            "card",
        )

    def clean_character_book(self):
        """The book as `book_check` normalises it (defaults set, unknown keys kept)."""
        value = self.cleaned_data.get("character_book")
        return None if value is None else book_check(value)


@admin.register(Character)
class CharacterAdmin(admin.ModelAdmin):
    form = CharacterAdminForm
    list_display = ("name", "character_class", "level", "game", "user_ref", "owner", "updated_at")
    list_filter = ("character_class",)
    search_fields = ("name", "description", "user_ref", "owner__email")
    list_select_related = ("game", "owner")
    raw_id_fields = ("game", "owner")
    readonly_fields = ("created_at", "updated_at", "lorebook_entries")
    fieldsets = (
        (None, {"fields": ("name", "game", "user_ref", "owner")}),
        (
            "Sheet",
            {"fields": ("character_class", "level", "stats", "health", "inventory", "avatar")},
        ),
        ("Persona (character chat)", {"fields": ("description", "tags", "opening_line")}),
        ("Lorebook", {"fields": ("lorebook_entries", "character_book")}),
        ("Card (V2/V3 fields)", {"fields": ("card",), "classes": ("collapse",)}),
        ("Dates", {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description="Entries")
    def lorebook_entries(self, obj: Character) -> str:
        book = obj.character_book if isinstance(obj.character_book, dict) else {}
        entries = book.get("entries") if isinstance(book.get("entries"), list) else []
        if not entries:
            return "No lorebook entries."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (_entry_row(index, entry) for index, entry in enumerate(entries)),
        )
        return format_html(
            "<table><thead><tr><th>#</th><th>Name</th><th>Keys</th><th>State</th>"
            "<th>Position</th><th>Order</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )


def _entry_row(index: int, entry: object) -> tuple:
    if not isinstance(entry, dict):
        return (index, "(not an entry)", "", "", "", "")
    keys = entry.get("keys") if isinstance(entry.get("keys"), list) else []
    state = "off" if entry.get("enabled") is False else "on"
    if entry.get("constant") is True:
        state += ", constant"
    if entry.get("use_regex") is True:
        state += ", regex"
    if entry.get("selective") is True:
        state += ", selective"
    return (
        entry.get("id", index),
        entry.get("name") or entry.get("comment") or "",
        ", ".join(str(key) for key in keys),
        state,
        entry.get("position") or "after_char",
        entry.get("insertion_order", 0),
    )
