"""Background tasks of the media library (`django.tasks`, run by `manage.py media_worker`)."""

from __future__ import annotations

import logging

from django.tasks import task

from media_library import services

logger = logging.getLogger(__name__)


@task()
def media_analyse_task(media_id: str) -> str:
    """Analyse one uploaded media; see `services.media_analyse`. An unexpected error still
    leaves the media `failed` with a reason (never `processing` for ever) and fails the task."""
    try:
        return services.media_analyse(media_id=media_id)
    except Exception:
        logger.exception("Analysis of %s failed unexpectedly", media_id)
        services.media_fail(media_id=media_id, reason="Internal error during analysis")
        raise
