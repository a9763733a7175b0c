"""Input and output shapes of the media routes (seed 003, "Media API Endpoints")."""

from __future__ import annotations

import json

from rest_framework import serializers

from core.times import iso_utc as iso_z
from media_library.links import signed_link
from media_library.models import Media, MediaStatus, MediaType
from media_library.selectors import SORT_FIELDS
from projects.serializers import PaginationOutput


def size_formatted(size: int) -> str:
    """ "1.0 MB" for 1048576 bytes, as the seed writes it (binary units)."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def embedding_status(media: Media) -> str:
    if media.embedding_generated_at is not None:
        return "complete"
    if media.status == MediaStatus.PROCESSING:
        return "generating"
    return "failed" if media.status == MediaStatus.FAILED else "none"


def analysis_status(media: Media) -> str:
    return {
        MediaStatus.PROCESSING: "analyzing",
        MediaStatus.FAILED: "failed",
    }.get(media.status, "complete" if media.analysed_at else "none")


def absolute(request, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


def thumbnail_url(media: Media, request) -> str | None:
    if not media.thumbnail:
        return None
    user = getattr(request, "user", None)
    return absolute(request, signed_link(media, "thumbnail", user=user).url)


# --- input --------------------------------------------------------------------------------


class TagsField(serializers.Field):
    """A JSON array string, repeated form fields, or one comma-separated string."""

    def get_value(self, dictionary):
        if hasattr(dictionary, "getlist"):
            values = dictionary.getlist(self.field_name)
            return values if values else serializers.empty
        return dictionary.get(self.field_name, serializers.empty)

    def to_internal_value(self, data):
        values = data if isinstance(data, list) else [data]
        tags: list[str] = []
        for value in values:
            if not isinstance(value, str):
                raise serializers.ValidationError("Tags must be strings.")
            text = value.strip()
            if text.startswith("["):
                try:
                    parsed = json.loads(text)
                except json.JSONDecodeError:
                    raise serializers.ValidationError("Not a valid JSON array.") from None
                if not isinstance(parsed, list) or not all(isinstance(t, str) for t in parsed):
                    raise serializers.ValidationError("Must be a JSON array of strings.")
                tags.extend(parsed)
            else:
                tags.extend(part for part in text.split(","))
        return tags


class UploadInput(serializers.Serializer):
    projectId = serializers.CharField(max_length=64)
    mediaType = serializers.ChoiceField(choices=MediaType.values, required=False)
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=4000, trim_whitespace=True
    )
    tags = TagsField(required=False)


class MediaListInput(serializers.Serializer):
    projectId = serializers.CharField(required=False, max_length=64)
    mediaType = serializers.ChoiceField(choices=MediaType.values, required=False)
    search = serializers.CharField(required=False, allow_blank=True, max_length=200)
    tags = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    status = serializers.ChoiceField(choices=MediaStatus.values, required=False)
    sort = serializers.ChoiceField(choices=list(SORT_FIELDS), required=False)
    order = serializers.ChoiceField(choices=["asc", "desc"], required=False)
    include = serializers.ChoiceField(choices=["vector"], required=False)
    page = serializers.CharField(required=False)
    limit = serializers.CharField(required=False)

    def validate_tags(self, value: str) -> list[str]:
        return [t.strip() for t in value.split(",") if t.strip()]


class MediaDetailInput(serializers.Serializer):
    include = serializers.ChoiceField(choices=["vector"], required=False)


class MediaUpdateInput(serializers.Serializer):
    displayName = serializers.CharField(max_length=255, required=False, allow_blank=True)
    description = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(allow_blank=True), required=False)
    mediaType = serializers.ChoiceField(choices=MediaType.values, required=False)
    status = serializers.ChoiceField(
        choices=[MediaStatus.ACTIVE, MediaStatus.ARCHIVED], required=False
    )

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(
                "Send at least one of displayName, description, tags, mediaType, status."
            )
        names = {"displayName": "display_name", "mediaType": "media_type"}
        return {names.get(key, key): value for key, value in attrs.items()}


class DeletedOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    id = serializers.CharField()
    deleted = serializers.BooleanField()


class SearchInput(serializers.Serializer):
    query = serializers.CharField(max_length=1000)
    projectId = serializers.CharField(required=False, allow_null=True, max_length=64)
    mediaTypes = serializers.ListField(
        child=serializers.CharField(max_length=32),
        required=False,
        max_length=20,
        help_text=f"Any of: {', '.join(MediaType.values)}",
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=10)
    threshold = serializers.FloatField(required=False, min_value=0.0, max_value=1.0, default=0.0)

    # --- output -------------------------------------------------------------------------------

    def validate_mediaTypes(self, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in MediaType.values]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown media type(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(MediaType.values)}"
            )
        return value


class UploadOutput(serializers.Serializer):
    """One kept file of an upload, as the seed's `uploads` items."""

    mediaId = serializers.CharField(source="pk")
    filename = serializers.CharField(source="original_filename")
    size = serializers.IntegerField()
    mimeType = serializers.CharField(source="mime_type")
    mediaType = serializers.CharField(source="media_type")
    projectId = serializers.CharField(source="project_id")
    status = serializers.CharField()
    aiAnalysis = serializers.SerializerMethodField()
    embedding = serializers.SerializerMethodField()

    def get_aiAnalysis(self, media) -> dict:
        return {"status": analysis_status(media), "estimatedCompletion": "30s"}

    def get_embedding(self, media) -> dict:
        return {"status": embedding_status(media), "progress": 0}


class RejectedOutput(serializers.Serializer):
    filename = serializers.CharField()
    size = serializers.IntegerField()
    error = serializers.SerializerMethodField()

    def get_error(self, item) -> dict:
        return {"code": str(item.code), "message": item.message}


def _vector(media: Media) -> list[float] | None:
    import numpy as np

    if media.embedding is None:
        return None
    return [round(float(v), 6) for v in np.frombuffer(bytes(media.embedding), dtype="<f4")]


class MediaListOutput(serializers.Serializer):
    id = serializers.CharField(source="pk")
    filename = serializers.CharField(source="original_filename")
    displayName = serializers.CharField(source="display_name")
    mediaType = serializers.CharField(source="media_type")
    mimeType = serializers.CharField(source="mime_type")
    size = serializers.IntegerField()
    sizeFormatted = serializers.SerializerMethodField()
    projectId = serializers.CharField(source="project_id")
    status = serializers.CharField()
    description = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    aiGenerated = serializers.BooleanField(source="ai_generated")
    uploadedAt = serializers.SerializerMethodField()
    thumbnailUrl = serializers.SerializerMethodField()
    metadata = serializers.SerializerMethodField()
    relatedElements = serializers.SerializerMethodField()

    def get_sizeFormatted(self, media) -> str:
        return size_formatted(media.size)

    def get_uploadedAt(self, media) -> str:
        return iso_z(media.created_at)

    def get_thumbnailUrl(self, media) -> str | None:
        return thumbnail_url(media, self.context.get("request"))

    def get_metadata(self, media) -> dict:
        technical = media.technical_data or {}
        embedding = {"status": embedding_status(media)}
        if self.context.get("include_vector"):
            embedding["vector"] = _vector(media)
        return {
            "dimensions": technical.get("dimensions"),
            "colorPalette": [c["hex"] for c in technical.get("palette", [])],
            "embedding": embedding,
        }

    def get_relatedElements(self, media) -> dict:
        return {"characters": [], "episode": None, "scene": None}


class MediaDetailOutput(serializers.Serializer):
    id = serializers.CharField(source="pk")
    filename = serializers.CharField(source="original_filename")
    displayName = serializers.CharField(source="display_name")
    projectId = serializers.CharField(source="project_id")
    mediaType = serializers.CharField(source="media_type")
    status = serializers.CharField()
    failureReason = serializers.SerializerMethodField()
    description = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    aiGenerated = serializers.BooleanField(source="ai_generated")
    agentGenerated = serializers.SerializerMethodField()
    uploadedAt = serializers.SerializerMethodField()
    updatedAt = serializers.SerializerMethodField()
    technicalData = serializers.SerializerMethodField()
    aiAnalysis = serializers.SerializerMethodField()
    embedding = serializers.SerializerMethodField()
    usage = serializers.SerializerMethodField()
    downloadUrl = serializers.SerializerMethodField()
    downloadUrlExpiresAt = serializers.SerializerMethodField()
    thumbnailUrl = serializers.SerializerMethodField()
    version = serializers.IntegerField()

    def get_failureReason(self, media) -> str | None:
        return media.failure_reason or None

    def get_agentGenerated(self, media) -> bool:
        return False

    def get_uploadedAt(self, media) -> str:
        return iso_z(media.created_at)

    def get_updatedAt(self, media) -> str:
        return iso_z(media.updated_at)

    def get_technicalData(self, media) -> dict:
        technical = media.technical_data or {}
        return {
            "mimeType": media.mime_type,
            "size": media.size,
            "sizeFormatted": size_formatted(media.size),
            "dimensions": technical.get("dimensions"),
            "colorDepth": technical.get("colorDepth"),
            "compression": technical.get("compression"),
            "animated": technical.get("animated"),
            "palette": technical.get("palette", []),
        }

    def get_aiAnalysis(self, media) -> dict:
        analysis = media.ai_analysis or {}
        return {
            "status": analysis_status(media),
            "description": analysis.get("description"),
            "tags": analysis.get("tags", []),
            "detectedObjects": analysis.get("detectedObjects", []),
            "styleAnalysis": analysis.get("styleAnalysis"),
            "styleElements": analysis.get("styleElements", []),
            "suitability": analysis.get("suitability", []),
            "analyzedAt": iso_z(media.analysed_at) if media.analysed_at else None,
        }

    def get_embedding(self, media) -> dict:
        data = {
            "status": embedding_status(media),
            "model": media.embedding_model or None,
            "dimensions": media.embedding_dimensions or None,
            "generatedAt": (
                iso_z(media.embedding_generated_at) if media.embedding_generated_at else None
            ),
        }
        if self.context.get("include_vector"):
            data["vector"] = _vector(media)
        return data

    def get_usage(self, media) -> dict:
        usage = self.context["usage"]
        return {
            "referencedInSessions": usage.sessions,
            "referencedInMessages": usage.messages,
            "lastReferenced": iso_z(usage.last_referenced) if usage.last_referenced else None,
        }

    def _download(self, media):
        if not hasattr(self, "_download_link"):
            user = getattr(self.context.get("request"), "user", None)
            self._download_link = signed_link(media, "download", user=user)
        return self._download_link

    def get_downloadUrl(self, media) -> str:
        return absolute(self.context.get("request"), self._download(media).url)

    def get_downloadUrlExpiresAt(self, media) -> str:
        return iso_z(self._download(media).expires_at)

    def get_thumbnailUrl(self, media) -> str | None:
        return thumbnail_url(media, self.context.get("request"))


class SearchHitOutput(serializers.Serializer):
    media = serializers.SerializerMethodField()
    similarity = serializers.FloatField()
    matchingElements = serializers.ListField(
        source="matching_elements", child=serializers.CharField()
    )

    def get_media(self, hit) -> dict:
        media = hit.media
        return {
            "id": media.pk,
            "filename": media.original_filename,
            "mediaType": media.media_type,
            "projectId": media.project_id,
            "description": media.description or (media.ai_analysis or {}).get("description", ""),
            "thumbnailUrl": thumbnail_url(media, self.context.get("request")),
        }


# --- OpenAPI envelopes (the renderer adds `success: true`; these describe the result) -----


class UploadRequestSchema(serializers.Serializer):
    projectId = serializers.CharField()
    files = serializers.ListField(child=serializers.FileField(), help_text="Or `file`.")
    mediaType = serializers.ChoiceField(choices=MediaType.values, required=False)
    description = serializers.CharField(required=False)
    tags = serializers.CharField(
        required=False, help_text='A JSON array string (`["a","b"]`), repeated fields, or "a,b"'
    )


class UploadEnvelope(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    uploads = UploadOutput(many=True)
    rejected = RejectedOutput(many=True)


class MediaListEnvelope(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    media = MediaListOutput(many=True)
    pagination = PaginationOutput()


class MediaDetailEnvelope(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    media = MediaDetailOutput()


class QueryEmbeddingOutput(serializers.Serializer):
    model = serializers.CharField()
    processingTime = serializers.IntegerField(help_text="Milliseconds")


class SearchEnvelope(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    results = SearchHitOutput(many=True)
    queryEmbedding = QueryEmbeddingOutput()
