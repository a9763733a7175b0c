"""Writers of the movie projects' workflow chat (family M), over the one turn engine.

- `session_message_send`: a member's line in a project session (a new session when none is
  named), then the AI's reply and the choices that follow it.
- `session_choice_make`: a member takes one of the choices the session was last offered: the
  workflow step is completed (`projects.workflow.step_advance`), the choice (or the member's
  own words for it) is stored as their line, and the AI answers it with new choices.

REST and the movie socket call these same functions. Every stored line and every step taken
is announced through `realtime.events` after its transaction commits, to the session's group
(`project-session.<id>`), and each socket renders it; nothing here builds a wire format.

A turn is the engine's, with family M's hooks (`chats.workflow.turns`): one turn per session
at a time, across server processes, claimed in the engine's turn registry, so a second line
meanwhile is 409 and a running turn can be found and stopped like any family's.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.db import transaction

from accounts.models import User
from ai import engine
from chats.models import Chat, Message
from chats.workflow.errors import InvalidWorkflowInput
from chats.workflow.records import message_check, session_for_write, session_touch
from chats.workflow.turns import ChoiceTurn, MessageTurn, WorkflowReply, turn_key
from media_library.errors import FileTooLarge, UnsupportedFormat
from media_library.services import media_upload
from projects import workflow
from projects.selectors import project_get_for

logger = logging.getLogger("chats.workflow")

MAX_ATTACHMENTS = 10


# --- entry points ----------------------------------------------------------------------------


@dataclass
class WorkflowResult:
    session: Chat
    user_message: Message
    reply: Message
    progress: workflow.Progress
    hooks: WorkflowReply


async def _run(hooks: WorkflowReply) -> WorkflowResult:
    # A new session has no id before `prepare`, which claims the session under its own id.
    session_id = getattr(hooks, "session_id", None)
    key = turn_key(session_id) if session_id else f"project-session.new-{uuid.uuid4().hex}"
    # Every M turn counts against its member's AI_TURN_RATE, over REST and the socket alike.
    turn = await engine.start(key=key, hooks=hooks, caller=f"user-{hooks.user.pk}")
    outcome = await turn.result()
    session = hooks.session
    return WorkflowResult(
        session=session,
        user_message=hooks.user_message,
        reply=outcome.message,
        progress=workflow.progress(session.project),
        hooks=hooks,
    )


async def session_message_send(
    *,
    user: User,
    project_id: str,
    session_id: str | None,
    message: str,
    attachments: list[str] | None = None,
) -> WorkflowResult:
    """A member's line in a session of `project_id` (a new session when `session_id` is
    None), then the AI's reply and its choices. Raises what the checks raise before anything
    is stored; a model failure after the line is stored is AIServiceError/AIUnavailable (the
    line stays, the reply is not stored)."""
    message_check(message)
    attachments = list(attachments or [])
    if len(attachments) > MAX_ATTACHMENTS:
        raise InvalidWorkflowInput(
            f"attachments: At most {MAX_ATTACHMENTS} media per message",
            details=[{"field": "attachments", "message": f"At most {MAX_ATTACHMENTS} items."}],
        )
    hooks = MessageTurn(
        user=user,
        project_id=str(project_id),
        session_id=str(session_id) if session_id else None,
        content=message,
        attachments=[str(a) for a in attachments],
    )
    return await _run(hooks)


async def session_choice_make(
    *, user: User, session_id: str, choice_id: str, custom_input: str | None = None
) -> WorkflowResult:
    """Take one of the choices the session was last offered: complete the project's current
    workflow step, store the choice (or `custom_input`, which replaces its text) as the
    member's line, and answer it with new choices. A choice already taken is 409 and advances
    nothing; a choice not offered is 400. The step is taken before the model is asked, so a
    model failure (502/503) leaves the workflow advanced and the choice recorded."""
    if custom_input is not None and custom_input.strip():
        message_check(custom_input, field="customInput")
    else:
        custom_input = None
    hooks = ChoiceTurn(
        user=user,
        session_id=str(session_id),
        choice_id=str(choice_id),
        custom_input=custom_input,
    )
    return await _run(hooks)


# --- uploads ---------------------------------------------------------------------------------

# What a client can expect while the analysis runs in the background (seed 003's figure).
ANALYSIS_ESTIMATE = "30s"


def session_upload(
    *,
    user: User,
    project_id: str,
    session_id: str,
    file,
    description: str = "",
    media_type: str | None = None,
) -> dict:
    """Keep one file as media of the session's project (through the media library, which
    checks the type by content and the size by tier), attach it to the session's context, and
    describe it as the seed's upload answer. The analysis and embedding run afterwards."""
    project = project_get_for(user, project_id, write=True)
    with transaction.atomic():
        session = session_for_write(user, session_id, project)
        try:
            created, _rejected = media_upload(
                user=user,
                project=project,
                files=[file],
                media_type=media_type,
                description=description,
                tags=None,
                session=session,
            )
        except (FileTooLarge, UnsupportedFormat) as error:
            # The same per-file report as media upload's, naming this route's one field.
            details = [{**detail, "field": "file"} for detail in error.details]
            raise type(error)(error.message, details=details) from None
        media = created[0]
        session_touch(session, media=[media.pk])
    analysis = media.ai_analysis or {}
    done = media.status != "processing"
    return {
        "mediaId": media.pk,
        "filename": media.original_filename,
        "mediaType": media.media_type,
        "processingStatus": "analyzing" if not done else media.status,
        "aiAnalysis": {
            "description": analysis.get("description", ""),
            "tags": list(analysis.get("tags", [])),
            "styleElements": list(analysis.get("styleElements", [])),
            "suitableFor": list(analysis.get("suitability", [])),
        },
        "embedding": {
            "status": "complete" if media.embedding_generated_at else "generating",
            "estimatedCompletion": None if media.embedding_generated_at else ANALYSIS_ESTIMATE,
        },
    }
