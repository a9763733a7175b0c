"""Readers of the movie projects' chat sessions (family M).

A session is a `Chat` of kind `project_session`, read through `Chat.sessions` (family A's
`Chat.objects` never sees one). Who may read or write a session is who may read or write its
project (`projects.selectors`): an unknown session is 404; a session of a project the caller is
not a member of is 403, like the project itself; a viewer reads but does not write.

Status: a session is stored `active` or `completed`; an active session idle for longer than
MOVIE_SESSION_IDLE_SECONDS reads as `paused`, and its next line makes it active again.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from chats.models import Chat, Message, SessionStatus
from chats.workflow.errors import SessionNotFound
from projects.selectors import project_check_access, projects_readable_by

SESSION_STATUSES = tuple(SessionStatus.values)


def session_status(session: Chat, now=None) -> str:
    """The status a client sees (`paused` derived from idleness)."""
    if session.status == SessionStatus.ACTIVE and session.last_activity is not None:
        now = now or timezone.now()
        idle = timedelta(seconds=settings.MOVIE_SESSION_IDLE_SECONDS)
        if session.last_activity < now - idle:
            return SessionStatus.PAUSED
    return session.status or SessionStatus.ACTIVE


def _status_filter(status: str) -> Q:
    cutoff = timezone.now() - timedelta(seconds=settings.MOVIE_SESSION_IDLE_SECONDS)
    if status == SessionStatus.PAUSED:
        return Q(status=SessionStatus.PAUSED) | Q(
            status=SessionStatus.ACTIVE, last_activity__lt=cutoff
        )
    if status == SessionStatus.ACTIVE:
        return Q(status=SessionStatus.ACTIVE, last_activity__gte=cutoff)
    return Q(status=status)


def session_get_for(user, session_id: object, *, write: bool = False) -> Chat:
    """The session (with its project and owner) if `user` may read it, or write it."""
    session = (
        Chat.sessions.select_related("project", "owner")
        .filter(public_id=str(session_id or ""))
        .first()
    )
    if session is None:
        raise SessionNotFound(f"Session {session_id} not found")
    project_check_access(user, session.project, write=write)
    return session


def session_detail_for(user, session_id: object) -> Chat:
    """`session_get_for`, with `session.messages.all()` oldest first and their authors."""
    session = session_get_for(user, session_id)
    messages = Message.objects.filter(chat_id=session.pk).select_related("author")
    session.history = list(messages.order_by("created_at", "pk"))
    return session


def sessions_for(user, *, project_id: str | None = None, status: str | None = None) -> QuerySet:
    """Sessions of every project `user` may read, most recently active first, each with its
    project, its starter and `message_count` (one query per page)."""
    qs = Chat.sessions.filter(project__in=projects_readable_by(user))
    if project_id:
        qs = qs.filter(project_id=project_id)
    if status:
        qs = qs.filter(_status_filter(status))
    return (
        qs.select_related("project", "owner")
        .annotate(message_count=Count("messages"))
        .order_by("-last_activity", "-created_at", "-pk")
    )


def session_history(session: Chat) -> list[dict]:
    """The session's messages as `{role, content}`, oldest first: a turn's history."""
    return list(
        Message.objects.filter(chat_id=session.pk)
        .order_by("created_at", "pk")
        .values("role", "content")
    )


def session_last_offer(session: Chat) -> Message | None:
    """The session's newest assistant message: the offer a choice must come from."""
    return (
        Message.objects.filter(chat_id=session.pk, role="assistant")
        .order_by("-created_at", "-pk")
        .first()
    )


def session_choice_taken(session: Chat, choice_id: str) -> bool:
    return Message.objects.filter(chat_id=session.pk, chosen_choice_id=choice_id).exists()
