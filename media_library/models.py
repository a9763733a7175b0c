"""Media of the movie platform: an uploaded file of a project, its analysis and embedding."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models


def new_media_id() -> str:
    """An unguessable id in the seed's style, e.g. "media-9c1f0a2b3d4e5f60" (64 random bits)."""
    return f"media-{secrets.token_hex(8)}"


class MediaType(models.TextChoices):
    """What a file is for in the production (seed 003 names the first three, "etc." the rest)."""

    STYLE_REFERENCE = "style_reference"
    CHARACTER_DESIGN = "character_design"
    CONCEPT_ART = "concept_art"
    STORYBOARD = "storyboard"
    LOCATION = "location"
    REFERENCE = "reference"
    OTHER = "other"


class MediaStatus(models.TextChoices):
    PROCESSING = "processing"
    ACTIVE = "active"
    FAILED = "failed"
    ARCHIVED = "archived"


def media_upload_to(instance: Media, filename: str) -> str:
    # The stored name never uses the client's filename (kept apart in `original_filename`).
    extension = {
        "image/png": "png",
        "image/jpeg": "jpg",
        "image/webp": "webp",
        "image/gif": "gif",
    }.get(instance.mime_type, "bin")
    return f"media/{instance.project_id}/{instance.pk}.{extension}"


def thumbnail_upload_to(instance: Media, filename: str) -> str:
    return f"media/{instance.project_id}/{instance.pk}-thumb.jpg"


class Media(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=new_media_id, editable=False)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="media")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    file = models.FileField(upload_to=media_upload_to, max_length=255)
    original_filename = models.CharField(max_length=255)
    display_name = models.CharField(max_length=255, blank=True)
    mime_type = models.CharField(max_length=64)
    size = models.BigIntegerField()
    media_type = models.CharField(max_length=32, choices=MediaType.choices)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    # ",tag1,tag2," of the user's and the analysis' tags, casefolded: a portable `tags` filter.
    tag_index = models.TextField(blank=True, default="")
    status = models.CharField(
        max_length=16, choices=MediaStatus.choices, default=MediaStatus.PROCESSING
    )
    failure_reason = models.TextField(blank=True)
    # {"width", "height", "colorDepth", "compression", "format", "palette": [{hex, name, share}]}
    technical_data = models.JSONField(default=dict, blank=True)
    # {"description", "tags", "detectedObjects", "styleAnalysis", "styleElements", "suitability"}
    ai_analysis = models.JSONField(default=dict, blank=True)
    analysed_at = models.DateTimeField(null=True, blank=True)
    thumbnail = models.FileField(upload_to=thumbnail_upload_to, max_length=255, blank=True)
    # float32 little-endian bytes of a unit vector; comparable only within one model.
    embedding = models.BinaryField(null=True, blank=True, editable=False)
    embedding_model = models.CharField(max_length=128, blank=True)
    embedding_dimensions = models.PositiveIntegerField(default=0)
    embedding_generated_at = models.DateTimeField(null=True, blank=True)
    ai_generated = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(fields=["project", "status", "-created_at"]),
            models.Index(fields=["embedding_model", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.pk} ({self.original_filename})"


class MediaReference(models.Model):
    """A chat message that referred to a media item (the detail's `usage`)."""

    media = models.ForeignKey(Media, on_delete=models.CASCADE, related_name="references")
    session_id = models.CharField(max_length=64)
    message_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["media", "message_id"], name="media_reference_once_per_message"
            )
        ]

    def __str__(self) -> str:
        return f"{self.media_id} in {self.session_id} {self.message_id}".strip()
