"""Admin for content editors: the title catalogue, games, sessions and their logs."""

from django.contrib import admin

from games.models import Checkpoint, Game, GameSession, GameTitle, Message, Progress


@admin.register(GameTitle)
class GameTitleAdmin(admin.ModelAdmin):
    list_display = ("title", "genre", "created_at", "updated_at")
    list_filter = ("genre",)
    search_fields = ("title", "description", "genre")
    readonly_fields = ("created_at", "updated_at")


@admin.register(Game)
class GameAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "genre", "difficulty", "game_title", "owner", "updated_at")
    list_filter = ("genre", "difficulty")
    search_fields = ("id", "title", "genre", "owner__email")
    list_select_related = ("game_title", "owner")
    autocomplete_fields = ("game_title",)
    raw_id_fields = ("owner",)
    readonly_fields = ("last_sequence_number", "created_at", "updated_at")


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("sequence_number", "role", "type", "content", "image", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ("id",)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(GameSession)
class GameSessionAdmin(admin.ModelAdmin):
    list_display = ("id", "game", "user_ref", "owner", "character", "status", "started_at")
    list_filter = ("status",)
    search_fields = ("id", "user_ref", "owner__email", "character__name")
    list_select_related = ("game", "owner", "character")
    raw_id_fields = ("game", "owner", "character")
    readonly_fields = ("id", "started_at", "ended_at")
    inlines = [MessageInline]


class CheckpointInline(admin.TabularInline):
    model = Checkpoint
    extra = 0
    fields = ("key", "value", "at")


@admin.register(Progress)
class ProgressAdmin(admin.ModelAdmin):
    list_display = ("session", "chapter", "step", "updated_at")
    search_fields = ("session__id",)
    raw_id_fields = ("session", "last_message")
    readonly_fields = ("updated_at",)
    inlines = [CheckpointInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "game", "sequence_number", "session", "role", "type", "created_at")
    list_filter = ("role", "type")
    search_fields = ("content", "session__id")
    raw_id_fields = ("session", "game")
    readonly_fields = ("sequence_number", "created_at")
    list_select_related = ("game", "session")
