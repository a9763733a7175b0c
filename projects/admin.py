from django.contrib import admin

from projects.models import Collaborator, Invitation, Project


class CollaboratorInline(admin.TabularInline):
    model = Collaborator
    extra = 0
    raw_id_fields = ("user",)


class InvitationInline(admin.TabularInline):
    model = Invitation
    extra = 0
    raw_id_fields = ("invited_by",)
    readonly_fields = ("id", "sent_at")


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "owner", "genre", "status", "current_step", "updated_at")
    list_filter = ("status", "genre")
    search_fields = ("id", "title", "description", "owner__email")
    raw_id_fields = ("owner",)
    readonly_fields = ("id", "created_at", "updated_at")
    list_select_related = ("owner",)
    inlines = [CollaboratorInline, InvitationInline]


@admin.register(Collaborator)
class CollaboratorAdmin(admin.ModelAdmin):
    list_display = ("project", "user", "role", "added_at")
    list_filter = ("role",)
    search_fields = ("project__id", "project__title", "user__email")
    raw_id_fields = ("project", "user")
    list_select_related = ("project", "user")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "email", "role", "status", "sent_at", "expires_at")
    list_filter = ("status", "role")
    search_fields = ("id", "email", "project__id", "project__title")
    raw_id_fields = ("project", "invited_by")
    readonly_fields = ("id", "sent_at")
    list_select_related = ("project",)
