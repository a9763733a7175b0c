"""What a client or an operator asks of a media after its upload.

Re-analysis, new words, archiving and restoring, deletion, the admin's requeue, and the
record of chat messages that referred to a media.
"""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from core.errors import ValidationFailed
from media_library.errors import MediaBusy
from media_library.models import Media, MediaReference, MediaStatus
from media_library.services.analyse import enqueue_analysis
from media_library.services.tags import clean_tags, tag_index
from projects.selectors import project_check_access


def media_reanalyse(*, user, media: Media) -> Media:
    """Run the analysis again (after a failure, or to refresh it with a newer model)."""
    project_check_access(user, media.project, write=True)
    with transaction.atomic():
        updated = (
            Media.objects.filter(pk=media.pk)
            .exclude(status__in=[MediaStatus.PROCESSING, MediaStatus.ARCHIVED])
            .update(status=MediaStatus.PROCESSING, failure_reason="", updated_at=timezone.now())
        )
        if not updated:
            media.refresh_from_db()
            if media.status == MediaStatus.PROCESSING:
                raise MediaBusy("This media is being analysed already")
            raise ValidationFailed("Archived media is not analysed; restore it first")
        enqueue_analysis(media.pk)
    media.refresh_from_db()
    return media


def media_update(*, user, media: Media, data: dict) -> Media:
    """Change what the uploader said about a media, or archive / restore it.

    `data` may hold display_name, description, tags, media_type and status ("archived" or
    "active"). New words (description, tags) run the analysis again, so that search and the
    embedding follow them. Restoring an archived media makes it active again, or queues its
    analysis when it never finished one.
    """
    project_check_access(user, media.project, write=True)
    with transaction.atomic():
        media = Media.objects.select_for_update().select_related("project").get(pk=media.pk)
        fields: set[str] = set()
        if "display_name" in data:
            media.display_name = data["display_name"].strip() or media.original_filename
            fields.add("display_name")
        reanalyse = False
        if "description" in data and data["description"].strip() != media.description:
            media.description = data["description"].strip()
            fields.add("description")
            reanalyse = True
        if "tags" in data:
            tags = clean_tags(data["tags"])
            if tags != media.tags:
                media.tags = tags
                media.tag_index = tag_index(tags, (media.ai_analysis or {}).get("tags", []))
                fields.update({"tags", "tag_index"})
                reanalyse = True
        if "media_type" in data and data["media_type"] != media.media_type:
            media.media_type = data["media_type"]
            fields.add("media_type")
        status = data.get("status")
        if status is not None and status != media.status:
            if status == MediaStatus.ARCHIVED:
                media.status = MediaStatus.ARCHIVED
            elif status == MediaStatus.ACTIVE and media.status == MediaStatus.ARCHIVED:
                media.status = (
                    MediaStatus.ACTIVE if media.embedding_generated_at else MediaStatus.PROCESSING
                )
            else:
                raise ValidationFailed(
                    f"status: cannot go from {media.status} to {status} (use reanalyze to "
                    "retry an analysis)",
                    details=[{"field": "status", "message": "Not allowed from the current status"}],
                )
            fields.add("status")
        if reanalyse and media.status == MediaStatus.ACTIVE:
            media.status = MediaStatus.PROCESSING
            fields.add("status")
        if media.status == MediaStatus.PROCESSING and "status" in fields:
            media.failure_reason = ""
            fields.add("failure_reason")
            enqueue_analysis(media.pk)
        if fields:
            media.save(update_fields=[*fields, "updated_at"])
    return media


def media_delete(*, user, media: Media) -> None:
    """Delete a media, its stored file and thumbnail (the files once the deletion commits)."""
    project_check_access(user, media.project, write=True)
    names = [name for name in (media.file.name, media.thumbnail.name) if name]
    with transaction.atomic():
        Media.objects.filter(pk=media.pk).delete()
        transaction.on_commit(lambda: [default_storage.delete(name) for name in names])


def media_requeue(*, media_ids: list[str]) -> int:
    """Queue the analysis of these media again, whatever their state but archived (for
    operators: the admin's action); the number queued."""
    queued = 0
    with transaction.atomic():
        for media_id in (
            Media.objects.filter(pk__in=media_ids)
            .exclude(status=MediaStatus.ARCHIVED)
            .select_for_update()
            .values_list("pk", flat=True)
        ):
            Media.objects.filter(pk=media_id).update(
                status=MediaStatus.PROCESSING, failure_reason="", updated_at=timezone.now()
            )
            enqueue_analysis(media_id)
            queued += 1
    return queued


def media_references_add(*, media_ids: list[str], session_id: str, message_id: str) -> None:
    """Record that a chat message referred to these media (the detail's `usage`)."""
    MediaReference.objects.bulk_create(
        [
            MediaReference(media_id=m, session_id=session_id, message_id=message_id)
            for m in media_ids
        ],
        ignore_conflicts=True,
    )
