"""Writers of the media library: uploads, their analysis, re-analysis, archiving, usage.

An upload keeps every acceptable file and reports the others in `rejected`; the analysis
runs later as a background task (`media_library.tasks`), so the upload answers at once with
status `processing`. The task moves the media to `active`, or to `failed` with a reason; a
failed analysis never loses the file, and `media_reanalyse` runs it again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.tasks import task_backends
from django.utils import timezone
from django_tasks_db import DatabaseBackend

from ai import client as ai
from core.errors import DomainError, ErrorCode, ValidationFailed
from media_library import prompts
from media_library.analysis import analyse_image
from media_library.errors import FileTooLarge, MediaBusy, UnsupportedFormat
from media_library.files import identify
from media_library.models import Media, MediaReference, MediaStatus, MediaType
from projects.selectors import project_check_access

logger = logging.getLogger(__name__)

MAX_TAGS = 20
MAX_TAG_CHARS = 50
MAX_DESCRIPTION_CHARS = 4000


@dataclass(frozen=True)
class Rejected:
    """A file of an upload that was not kept, and why."""

    filename: str
    size: int
    code: ErrorCode
    message: str


def upload_limit_for(user) -> int:
    """The largest file `user`'s tier may upload, in bytes."""
    limits = settings.MEDIA_UPLOAD_MAX_BYTES
    return limits.get(getattr(user, "tier", "free"), limits["free"])


def clean_tags(tags) -> list[str]:
    """Trimmed tags without repeats (compared casefolded), checked for count and length."""
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ValidationFailed(
            "tags must be a list of strings",
            details=[{"field": "tags", "message": "Must be a list of strings"}],
        )
    seen: dict[str, str] = {}
    for tag in tags:
        tag = " ".join(tag.split())
        if not tag:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise ValidationFailed(
                f"tags: a tag may have at most {MAX_TAG_CHARS} characters",
                details=[{"field": "tags", "message": f"At most {MAX_TAG_CHARS} characters"}],
            )
        seen.setdefault(tag.casefold(), tag)
    if len(seen) > MAX_TAGS:
        raise ValidationFailed(
            f"tags: at most {MAX_TAGS} tags",
            details=[{"field": "tags", "message": f"At most {MAX_TAGS} tags"}],
        )
    return list(seen.values())


def tag_index(*tag_lists: list[str]) -> str:
    words = []
    for tags in tag_lists:
        for tag in tags or []:
            key = tag.casefold().replace(",", " ").strip()
            if key and key not in words:
                words.append(key)
    return f",{','.join(words)}," if words else ""


def _session_ref(session) -> str:
    if session is None or isinstance(session, str):
        return session or ""
    return str(getattr(session, "public_id", None) or session.pk)


def media_upload(
    *,
    user,
    project,
    files: list,
    media_type: str | None,
    description: str = "",
    tags: list[str] | None = None,
    session=None,
) -> tuple[list[Media], list[Rejected]]:
    """Keep each acceptable file of `files` as a new Media of `project` and queue its analysis.

    Only a member who may write the project uploads. Each file is told by its content (see
    media_library.files); a file over the caller's tier limit or of another type is reported
    in `rejected` while the others are kept. When no file is kept the upload fails as a whole:
    FileTooLarge or UnsupportedFormat when every rejection had that reason, else a
    validation error listing them. With `session` (a chat session) the media is recorded as
    referenced by it.
    """
    project_check_access(user, project, write=True)
    media_type = media_type or MediaType.OTHER
    if media_type not in MediaType.values:
        raise ValidationFailed(
            f"mediaType must be one of {', '.join(MediaType.values)}",
            details=[{"field": "mediaType", "message": f"Must be one of {MediaType.values}"}],
        )
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise ValidationFailed(
            f"description may have at most {MAX_DESCRIPTION_CHARS} characters",
            details=[{"field": "description", "message": "Too long"}],
        )
    tags = clean_tags(tags)
    if not files:
        raise ValidationFailed(
            "No file sent: use the multipart field `files` (or `file`)",
            details=[{"field": "files", "message": "At least one file is required"}],
        )
    if len(files) > settings.MEDIA_UPLOAD_MAX_FILES:
        raise ValidationFailed(
            f"At most {settings.MEDIA_UPLOAD_MAX_FILES} files per upload",
            details=[{"field": "files", "message": "Too many files"}],
        )
    limit = upload_limit_for(user)
    accepted: list[tuple[object, str]] = []
    rejected: list[Rejected] = []
    for file in files:
        name = (getattr(file, "name", "") or "upload")[:255]
        if getattr(file, "too_large", False) or file.size > limit:
            rejected.append(
                Rejected(
                    name,
                    file.size,
                    ErrorCode.FILE_TOO_LARGE,
                    f"{name}: {file.size} bytes is over the {limit}-byte limit of the "
                    f"{getattr(user, 'tier', 'free')} tier",
                )
            )
            continue
        sniffed = identify(file)
        if sniffed.mime is None:
            rejected.append(
                Rejected(name, file.size, ErrorCode.UNSUPPORTED_FORMAT, f"{name}: {sniffed.reason}")
            )
            continue
        accepted.append((file, sniffed.mime))
    if not accepted:
        _refuse_all(rejected)
    session_id = _session_ref(session)
    created: list[Media] = []
    with transaction.atomic():
        for file, mime in accepted:
            media = Media(
                project=project,
                uploaded_by=user,
                original_filename=file.name[:255],
                display_name=file.name[:255],
                mime_type=mime,
                size=file.size,
                media_type=media_type,
                description=description,
                tags=tags,
                tag_index=tag_index(tags),
            )
            file.seek(0)
            # Storage moves a temporary upload into place (no copy through memory).
            media.file.save(file.name, file, save=False)
            try:
                media.save(force_insert=True)
            except BaseException:
                default_storage.delete(media.file.name)
                raise
            if session_id:
                MediaReference.objects.create(media=media, session_id=session_id, message_id="")
            _enqueue_analysis(media.pk)
            created.append(media)
    return created, rejected


def _refuse_all(rejected: list[Rejected]) -> None:
    details = [
        {"field": f"files[{index}]", "message": f"{item.code}: {item.message}"}
        for index, item in enumerate(rejected)
    ]
    codes = {item.code for item in rejected}
    if codes == {ErrorCode.FILE_TOO_LARGE}:
        raise FileTooLarge("Every file is over the size limit of your tier", details=details)
    if codes == {ErrorCode.UNSUPPORTED_FORMAT}:
        raise UnsupportedFormat(
            "No file is of a supported format (PNG, JPEG, WebP, GIF)", details=details
        )
    raise ValidationFailed("No file could be accepted", details=details)


def _enqueue_analysis(media_id: str) -> None:
    """Queue the analysis of `media_id`.

    With the database backend the task row is written in the caller's transaction, so the
    task exists exactly when the media does (nothing to lose between commit and enqueue);
    another backend is asked only after the commit, so its worker never looks for a row that
    is not there yet.
    """
    from media_library.tasks import media_analyse_task

    if isinstance(task_backends[media_analyse_task.backend], DatabaseBackend):
        media_analyse_task.enqueue(media_id)
    else:
        transaction.on_commit(lambda: media_analyse_task.enqueue(media_id))


# --- analysis (runs in the task worker) -----------------------------------------------------


def embedding_model_name() -> str:
    """The name stored with an embedding; vectors of different models are never compared."""
    config = settings.AI_TASKS["embeddings"]
    return "offline-hash" if config["offline"] else config["model"]


def to_unit_float32(vector) -> np.ndarray:
    array = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(array))
    return array / norm if norm else array


def media_analyse(*, media_id: str) -> str:
    """Analyse a `processing` media: pixels, AI description and tags, embedding.

    Returns what happened ("active", "failed", or "skipped" when the media is gone or no
    longer waits for analysis, e.g. a second run of a task whose worker died). Safe to run
    twice: the result is written only while the media is still `processing`.
    """
    media = Media.objects.select_related("project").filter(pk=media_id).first()
    if media is None or media.status != MediaStatus.PROCESSING:
        return "skipped"
    try:
        with media.file.open("rb") as handle:
            facts = analyse_image(handle, thumbnail_px=settings.MEDIA_THUMBNAIL_PX)
    except Exception as exc:
        logger.info("Media %s could not be decoded: %s", media_id, exc)
        return media_fail(media_id=media_id, reason=f"The image could not be decoded: {exc}")
    try:
        analysis = async_to_sync(ai.structured)(
            task="media_analysis",
            messages=prompts.analysis_messages(media, facts, with_image=_send_image()),
            schema=prompts.ANALYSIS_SCHEMA,
            name="media_analysis",
        )
        colours = prompts.colour_words(facts.palette)
        analysis["tags"] = clean_ai_tags([*analysis.get("tags", []), *colours])
        text = prompts.embedding_text(media, analysis, colours)
        started = time.monotonic()
        [vector] = async_to_sync(ai.embed)(texts=[text])
        logger.info("Media %s embedded in %.0f ms", media_id, 1000 * (time.monotonic() - started))
    except DomainError as exc:
        return media_fail(media_id=media_id, reason=f"AI analysis failed: {exc.message}")
    unit = to_unit_float32(vector)
    thumbnail_name = default_storage.save(
        f"media/{media.project_id}/{media.pk}-thumb.jpg", ContentFile(facts.thumbnail)
    )
    now = timezone.now()
    updated = Media.objects.filter(pk=media_id, status=MediaStatus.PROCESSING).update(
        status=MediaStatus.ACTIVE,
        failure_reason="",
        technical_data=facts.technical_data(),
        ai_analysis=analysis,
        analysed_at=now,
        thumbnail=thumbnail_name,
        tag_index=tag_index(media.tags, analysis["tags"]),
        embedding=unit.astype("<f4").tobytes(),
        embedding_model=embedding_model_name(),
        embedding_dimensions=int(unit.shape[0]),
        embedding_generated_at=now,
        updated_at=now,
    )
    if not updated:
        default_storage.delete(thumbnail_name)
        return "skipped"
    if media.thumbnail and media.thumbnail.name != thumbnail_name:
        default_storage.delete(media.thumbnail.name)
    return "active"


def _send_image() -> bool:
    """Show the model the thumbnail (a vision model) when configured; the offline provider
    reads text only."""
    return settings.MEDIA_ANALYSIS_SEND_IMAGE and not settings.AI_TASKS["media_analysis"]["offline"]


def clean_ai_tags(tags: list) -> list[str]:
    seen: dict[str, str] = {}
    for tag in tags:
        if isinstance(tag, str) and (text := " ".join(tag.split())[:MAX_TAG_CHARS]):
            seen.setdefault(text.casefold(), text.lower())
    return list(seen.values())[:MAX_TAGS]


def media_fail(*, media_id: str, reason: str) -> str:
    """Mark a media that waits for analysis as failed, keeping its file."""
    Media.objects.filter(pk=media_id, status=MediaStatus.PROCESSING).update(
        status=MediaStatus.FAILED, failure_reason=reason[:2000], updated_at=timezone.now()
    )
    return "failed"


# --- changes a client asks for --------------------------------------------------------------


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
        _enqueue_analysis(media.pk)
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
            _enqueue_analysis(media.pk)
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
            _enqueue_analysis(media_id)
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
