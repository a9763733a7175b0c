"""The analysis of a media: queued with the upload, run by the task worker.

It reads the pixels, asks the model for a description and tags, embeds the words and stores
it all with a thumbnail, or marks the media failed with a reason and keeps its file.
"""

from __future__ import annotations

import logging
import time

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
from core.errors import DomainError
from media_library import prompts
from media_library.analysis import analyse_image
from media_library.models import Media, MediaStatus
from media_library.services.tags import clean_ai_tags, tag_index

logger = logging.getLogger(__name__)


def enqueue_analysis(media_id: str) -> None:
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


def embedding_model_name() -> str:
    """The name stored with an embedding; vectors of different models are never compared."""
    config = settings.AI_TASKS["embeddings"]
    return "offline-hash" if config["offline"] else config["model"]


def to_unit_float32(vector) -> np.ndarray:
    """`vector` as float32 of length one, as embeddings are stored and compared."""
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


def media_fail(*, media_id: str, reason: str) -> str:
    """Mark a media that waits for analysis as failed, keeping its file."""
    Media.objects.filter(pk=media_id, status=MediaStatus.PROCESSING).update(
        status=MediaStatus.FAILED, failure_reason=reason[:2000], updated_at=timezone.now()
    )
    return "failed"
