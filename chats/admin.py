"""Admin for chats (families A and C) and their messages."""

from django.contrib import admin

from chats.models import Chat, Message


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("client_id", "role", "content", "stopped", "created_at")
    readonly_fields = ("created_at",)
    extra = 0
    show_change_link = True
    ordering = ("created_at", "id")


@admin.register(Chat)
class ChatAdmin(admin.ModelAdmin):
    list_display = ("title", "id", "owner", "anon_id", "character", "created_at", "updated_at")
    search_fields = ("title", "id__exact", "anon_id", "owner__email")
    list_select_related = ("owner", "character")
    # The leaf is one of the chat's messages: a raw id, never a <select> of every message.
    raw_id_fields = ("owner", "character", "leaf")
    readonly_fields = ("id", "state_updated_at", "created_at", "updated_at")
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("client_id", "chat", "role", "stopped", "created_at")
    list_filter = ("role", "stopped")
    search_fields = ("client_id", "content", "chat__title", "chat__id__exact")
    list_select_related = ("chat",)
    raw_id_fields = ("chat", "parent")
    readonly_fields = ("created_at", "updated_at")
