"""What a project shows of the other M apps: its media and its active chat sessions.

`media_library.Media` (related name `media`) and the chat sessions of `chats.Chat` (related
name `chat_sessions`) point at `Project`; this module reads them through those relations, so
projects never imports those apps. Until a relation exists its count is 0 and its list empty.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from projects.models import Project

MEDIA_RELATION = "media"
SESSIONS_RELATION = "chat_sessions"
HIDDEN_MEDIA_STATUSES = ("archived",)
ACTIVE_SESSION_STATUS = "active"
# Media and sessions a project's detail lists, newest first.
DETAIL_ITEMS_SHOWN = 50


def _related_model(name: str):
    try:
        return Project._meta.get_field(name).related_model
    except FieldDoesNotExist:
        return None


def _idle_cutoff():
    return timezone.now() - timedelta(
        seconds=getattr(settings, "MOVIE_SESSION_IDLE_SECONDS", 24 * 3600)
    )


def _media_filter() -> Q:
    return ~Q(status__in=HIDDEN_MEDIA_STATUSES)


def _active_sessions_filter() -> Q:
    return Q(status=ACTIVE_SESSION_STATUS, last_activity__gte=_idle_cutoff())


def _count(model, condition: Q):
    rows = (
        model._base_manager.filter(condition, project=OuterRef("pk"))
        .order_by()
        .values("project")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def with_related_counts(queryset: QuerySet[Project]) -> QuerySet[Project]:
    """Annotate `media_count` and `active_sessions_count` (one subquery each, no joins)."""
    media = _related_model(MEDIA_RELATION)
    sessions = _related_model(SESSIONS_RELATION)
    return queryset.annotate(
        media_count=_count(media, _media_filter()) if media else Value(0),
        active_sessions_count=(
            _count(sessions, _active_sessions_filter()) if sessions else Value(0)
        ),
    )


def with_related_items(queryset: QuerySet[Project]) -> QuerySet[Project]:
    """Prefetch the media and active sessions a project's detail lists (one query each)."""
    prefetches = []
    media = _related_model(MEDIA_RELATION)
    if media is not None:
        prefetches.append(
            Prefetch(
                MEDIA_RELATION,
                queryset=media._base_manager.filter(_media_filter()).order_by("-created_at"),
                to_attr="listed_media",
            )
        )
    sessions = _related_model(SESSIONS_RELATION)
    if sessions is not None:
        prefetches.append(
            Prefetch(
                SESSIONS_RELATION,
                queryset=sessions._base_manager.filter(_active_sessions_filter())
                .select_related("owner")
                .order_by("-last_activity"),
                to_attr="listed_sessions",
            )
        )
    return queryset.prefetch_related(*prefetches)


def media_items(project: Project) -> list[dict]:
    return [
        {
            "id": item.pk,
            "filename": item.original_filename,
            "mediaType": item.media_type,
            "uploadedAt": item.created_at,
        }
        for item in getattr(project, "listed_media", [])[:DETAIL_ITEMS_SHOWN]
    ]


def session_items(project: Project) -> list[dict]:
    return [
        {
            "id": item.public_id,
            "userId": item.owner.public_id if item.owner_id else None,
            "currentStep": item.current_step,
            "lastActivity": item.last_activity,
        }
        for item in getattr(project, "listed_sessions", [])[:DETAIL_ITEMS_SHOWN]
    ]
