from django.contrib import admin, messages

from media_library.models import Media, MediaReference
from media_library.services import media_requeue


@admin.register(Media)
class MediaAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "original_filename",
        "project",
        "media_type",
        "status",
        "size",
        "created_at",
    )
    list_filter = ("status", "media_type")
    search_fields = ("id", "original_filename", "description", "project__title")
    raw_id_fields = ("project", "uploaded_by")
    readonly_fields = (
        "id",
        "mime_type",
        "size",
        "technical_data",
        "ai_analysis",
        "analysed_at",
        "embedding_model",
        "embedding_dimensions",
        "embedding_generated_at",
        "created_at",
        "updated_at",
    )
    actions = ["reanalyse"]

    @admin.action(description="Run the analysis again")
    def reanalyse(self, request, queryset):
        count = media_requeue(media_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} media queued for analysis", messages.SUCCESS)


@admin.register(MediaReference)
class MediaReferenceAdmin(admin.ModelAdmin):
    list_display = ("media", "session_id", "message_id", "created_at")
    raw_id_fields = ("media",)
