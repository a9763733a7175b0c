from django.contrib import admin

from characters.models import Character


@admin.register(Character)
class CharacterAdmin(admin.ModelAdmin):
    list_display = ("name", "character_class", "level", "game", "user_ref", "owner", "updated_at")
    list_filter = ("character_class",)
    search_fields = ("name", "description", "user_ref", "owner__email")
    list_select_related = ("game", "owner")
    raw_id_fields = ("game", "owner")
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "game", "user_ref", "owner")}),
        (
            "Sheet",
            {"fields": ("character_class", "level", "stats", "health", "inventory", "avatar")},
        ),
        ("Persona (character chat)", {"fields": ("description", "tags", "opening_line")}),
        ("Dates", {"fields": ("created_at", "updated_at")}),
    )
