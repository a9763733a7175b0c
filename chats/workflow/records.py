"""Writers of the rows of the movie projects' workflow chat (family M): sessions, the
members' lines and the AI's replies with their choices, each announced after commit.

The turn (`chats.workflow.turns`) calls these inside its short transactions; they never
wait on the model. A stored line is announced by its id; `message_snapshot` is what the movie
socket loads and renders of it.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from chats.models import Chat, ChatKind, Message, MessageRole, SessionStatus, new_session_id
from chats.services import new_client_id, title_from
from chats.workflow.errors import InvalidWorkflowInput, SessionNotFound
from core.limits import content_size_check
from core.times import iso_utc
from media_library.selectors import media_readable_by
from media_library.services import media_references_add
from projects import workflow
from projects.models import Project
from projects.selectors import project_check_access
from realtime import events as publish

# --- snapshots: what the domain events carry -------------------------------------------------


def sender_of(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.public_id, "name": user.name or user.email, "role": user.role}


def message_snapshot(session: Chat, message: Message, author: User | None = None) -> dict:
    """A stored line of a session, in domain terms: what the movie socket renders of the
    `message.stored` event that names it."""
    return {
        "id": message.client_id,
        "session_id": session.public_id,
        "project_id": session.project_id,
        "role": message.role,
        "content": message.content,
        "created_at": iso_utc(message.created_at),
        "sender": sender_of(author) if message.role == MessageRole.USER else None,
        "attachments": list(message.attachments or []),
        "choices": list(message.choices or []) if message.role == MessageRole.ASSISTANT else [],
        "next_step": message.next_step or None,
        "processing_time": (message.metadata or {}).get("processingTime"),
    }


def announce(session: Chat, message: Message) -> None:
    # The event names the line; the movie socket loads it and renders `message_snapshot`.
    publish.message_stored(
        group=publish.project_session_group(session.public_id),
        message={"id": message.pk, "session_id": session.public_id},
    )


# --- checks ----------------------------------------------------------------------------------


def message_check(message: object, field: str = "message") -> str:
    if not isinstance(message, str) or not message.strip():
        raise InvalidWorkflowInput(
            f"{field}: Must be a non-empty string",
            details=[{"field": field, "message": "Must be a non-empty string."}],
        )
    content_size_check(message, field=field)
    return message


def attachments_check(*, user: User, project: Project, ids: list[str]) -> list[str]:
    """Media ids the line refers to: each must be media of `project` that `user` may read
    (400 VALIDATION_ERROR naming each one that is not). Repeats are dropped."""
    unique = list(dict.fromkeys(ids))
    if not unique:
        return []
    found = {
        pk
        for pk, media in media_readable_by(user, unique).items()
        if media.project_id == project.pk
    }
    details = [
        {"field": f"attachments[{index}]", "message": f"No media {media_id} in this project."}
        for index, media_id in enumerate(ids)
        if media_id not in found
    ]
    if details:
        raise InvalidWorkflowInput(
            "attachments: " + "; ".join(d["message"] for d in details), details=details
        )
    return unique


def session_for_write(user: User, session_id: str, project: Project | None = None) -> Chat:
    """The session, locked for this transaction, if `user` may write it (and it belongs to
    `project` when one is named)."""
    session = (
        # Only the chat row is locked: PostgreSQL refuses FOR UPDATE on the nullable side of
        # the outer joins that select_related makes for the nullable project and owner.
        Chat.sessions.select_for_update(of=("self",))
        .select_related("project", "owner")
        .filter(public_id=str(session_id))
        .first()
    )
    if session is None or (project is not None and session.project_id != project.pk):
        raise SessionNotFound(f"Session {session_id} not found")
    project_check_access(user, session.project, write=True)
    return session


def session_create(*, user: User, project: Project) -> Chat:
    now = timezone.now()
    return Chat.all_chats.create(
        kind=ChatKind.PROJECT_SESSION,
        public_id=new_session_id(),
        title=title_from(project.title),
        owner=user,
        project=project,
        current_step=workflow.working_step(project) or workflow.PHASE_COMPLETE,
        status=SessionStatus.ACTIVE,
        last_activity=now,
        context_data=context_base(project),
    )


def context_base(project: Project) -> dict:
    context = {"currentFocus": workflow.working_step(project) or workflow.PHASE_COMPLETE}
    if project.genre:
        context["genre"] = project.genre
    context["mediaReferences"] = []
    context["decisions"] = []
    return context


def session_touch(session: Chat, *, media: list[str] = (), decision: dict | None = None):
    """Record activity: the session follows its project's step, reopens when idle, and its
    context gains the media and decision of the line."""
    project = session.project
    step = workflow.working_step(project)
    context = dict(session.context_data or {})
    context["currentFocus"] = step or workflow.PHASE_COMPLETE
    if project.genre:
        context["genre"] = project.genre
    references = list(context.get("mediaReferences") or [])
    references += [m for m in media if m not in references]
    context["mediaReferences"] = references
    decisions = list(context.get("decisions") or [])
    if decision is not None:
        decisions.append(decision)
    context["decisions"] = decisions
    session.context_data = context
    session.current_step = step or workflow.PHASE_COMPLETE
    session.status = SessionStatus.COMPLETED if step is None else SessionStatus.ACTIVE
    session.last_activity = timezone.now()
    session.save(
        update_fields=["context_data", "current_step", "status", "last_activity", "updated_at"]
    )


def user_line_store(
    session: Chat, user: User, content: str, attachments: list[str], metadata: dict | None = None
) -> Message:
    message = Message.objects.create(
        chat=session,
        client_id=new_client_id(),
        role=MessageRole.USER,
        content=content,
        author=user,
        attachments=attachments,
        metadata=metadata or {},
    )
    if attachments:
        media_references_add(
            media_ids=attachments, session_id=session.public_id, message_id=message.client_id
        )
    announce(session, message)
    return message


def reply_store(
    *,
    session: Chat,
    reply_id: str,
    content: str,
    choices: list[dict],
    next_step: str,
    processing_time: int,
) -> Message:
    """Store the AI's reply with the choices it offers, and announce it."""
    with transaction.atomic():
        if not Chat.sessions.filter(pk=session.pk).update(
            last_activity=timezone.now(), updated_at=timezone.now()
        ):
            raise SessionNotFound(f"Session {session.public_id} not found")
        message = Message.objects.create(
            chat_id=session.pk,
            client_id=reply_id,
            role=MessageRole.ASSISTANT,
            content=content,
            choices=choices,
            next_step=next_step,
            metadata={"processingTime": processing_time},
        )
        announce(session, message)
    return message
