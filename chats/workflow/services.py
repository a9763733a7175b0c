"""Writers of the movie projects' workflow chat (family M), over the one turn engine.

- `session_message_send`: a member's line in a project session (a new session when none is
  named), then the AI's reply and the choices that follow it.
- `session_choice_make`: a member takes one of the choices the session was last offered: the
  workflow step is completed (`projects.workflow.step_advance`), the choice (or the member's
  own words for it) is stored as their line, and the AI answers it with new choices.

REST and the movie socket call these same functions. Every stored line and every step taken
is announced through `realtime.events` after its transaction commits, to the session's group
(`project-session.<id>`), and each socket renders it; nothing here builds a wire format.

A turn is the engine's: *prepare* checks membership, locks the session and stores the line in
one short transaction; the reply streams from the model (task `dialogue`); *persist* asks for
the choices (structured output, task `choices`; a malformed answer is retried once by
`ai.client`, then it is AIBadOutput, 502) and stores the reply together with them, so a reply
is never stored without its choices; `after_saved` emits the engine's `choices` event. One
turn runs per session at a time, across server processes (a lock in the shared cache, with an
expiry so a crashed process cannot hold it): a second line meanwhile is 409.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from dataclasses import dataclass, field

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from accounts.models import User
from ai import client as ai
from ai import engine
from chats.models import Chat, Message
from chats.services import new_client_id
from chats.workflow import prompts as workflow_prompts
from chats.workflow import selectors as workflow_selectors
from chats.workflow.errors import (
    ChoiceAlreadyMade,
    ChoiceNotOffered,
    InvalidWorkflowInput,
    SessionTurnInFlight,
)
from chats.workflow.records import (
    attachments_check,
    message_check,
    reply_store,
    session_create,
    session_for_write,
    session_touch,
    user_line_store,
)
from media_library.errors import FileTooLarge, UnsupportedFormat
from media_library.services import media_upload
from projects import workflow
from projects.selectors import project_get_for
from realtime import events as publish

logger = logging.getLogger("chats.workflow")

MAX_ATTACHMENTS = 10


# --- the per-session turn lock ---------------------------------------------------------------


def _lock_key(session_id: str) -> str:
    return f"movie-turn:{session_id}"


def _turn_lock(session_id: str) -> str:
    """Take the session's turn lock (409 when a reply is in flight); returns its token."""
    token = secrets.token_hex(8)
    if not cache.add(_lock_key(session_id), token, timeout=settings.MOVIE_TURN_LOCK_SECONDS):
        raise SessionTurnInFlight(
            "The AI is still answering the previous line of this session; retry when it is done"
        )
    return token


def _turn_unlock(session_id: str, token: str) -> None:
    if cache.get(_lock_key(session_id)) == token:
        cache.delete(_lock_key(session_id))


# --- the turn --------------------------------------------------------------------------------


@dataclass
class WorkflowReply(engine.BaseHooks):
    """Family M's part of a turn. `_prepare_line` (a subclass's) stores the member's line in
    the locked transaction; the reply is stored with its choices."""

    user: User
    task: str = "dialogue"
    session: Chat | None = None
    user_message: Message | None = None
    lock_token: str = ""
    started_at: float = field(default_factory=time.monotonic)
    step_before: str | None = None

    async def prepare(self) -> engine.TurnPlan:
        try:
            return await database_sync_to_async(self._prepare)()
        except BaseException:
            # No turn event will come, so the `done` event cannot release the lock.
            await database_sync_to_async(self._release)()
            raise

    def _prepare(self) -> engine.TurnPlan:
        with transaction.atomic():
            session = self._prepare_line()
            history = workflow_selectors.session_history(session)
        self.session = session
        self.started_at = time.monotonic()
        return engine.TurnPlan(
            system_prompt=workflow_prompts.workflow_system_prompt(
                session.project, workflow.working_step(session.project), session.context_data
            ),
            history=history,
            reply_id=new_client_id(),
        )

    def _prepare_line(self) -> Chat:
        raise NotImplementedError

    def _lock(self, session: Chat) -> None:
        """Take the session's turn lock; the turn's `done` event releases it."""
        self.session = session
        self.lock_token = _turn_lock(session.public_id)

    def _release(self) -> None:
        if self.session is not None and self.lock_token:
            _turn_unlock(self.session.public_id, self.lock_token)
            self.lock_token = ""

    async def persist(self, text: str, *, reply_id: str, stopped: bool) -> Message:
        session = self.session
        project = session.project
        step = workflow.working_step(project)
        offer = await ai.structured(
            task="choices",
            messages=workflow_prompts.choices_messages(
                project=project,
                step=step,
                user_line=self.user_message.content if self.user_message else "",
                reply=text,
            ),
            schema=workflow_prompts.choices_schema(
                workflow_prompts.next_step_candidates(project, step)
            ),
            name="workflow_choices",
        )
        choices = [
            {
                "id": f"choice-{secrets.token_hex(4)}",
                "title": item["title"],
                "description": item["description"],
                "metadata": item["metadata"],
            }
            for item in offer["choices"]
        ]
        processing_ms = int((time.monotonic() - self.started_at) * 1000)
        return await database_sync_to_async(reply_store)(
            session=session,
            reply_id=reply_id,
            content=text,
            choices=choices,
            next_step=offer["nextStep"],
            processing_time=processing_ms,
        )

    async def on_event(self, event: engine.TurnEvent) -> None:
        if event.kind == engine.DONE:
            await database_sync_to_async(self._release)()

    async def after_saved(self, message: Message, emit) -> dict:
        await emit(engine.CHOICES, choices=message.choices, next_step=message.next_step)
        return {"choices": message.choices, "next_step": message.next_step}


@dataclass
class MessageTurn(WorkflowReply):
    project_id: str = ""
    session_id: str | None = None
    content: str = ""
    attachments: list[str] = field(default_factory=list)

    def _prepare_line(self) -> Chat:
        project = project_get_for(self.user, self.project_id, write=True)
        if self.session_id:
            session = session_for_write(self.user, self.session_id, project)
        else:
            session = session_create(user=self.user, project=project)
        media = attachments_check(user=self.user, project=session.project, ids=self.attachments)
        self._lock(session)
        session_touch(session, media=media)
        self.user_message = user_line_store(session, self.user, self.content, media)
        return session


@dataclass
class ChoiceTurn(WorkflowReply):
    session_id: str = ""
    choice_id: str = ""
    custom_input: str | None = None
    advanced: bool = False
    progress: workflow.Progress | None = None
    step_completed: str | None = None

    def _prepare_line(self) -> Chat:
        session = session_for_write(self.user, self.session_id)
        offer = workflow_selectors.session_last_offer(session)
        choice = None
        if offer is not None:
            choice = next((c for c in offer.choices or [] if c.get("id") == self.choice_id), None)
        if offer is not None and choice is not None and offer.chosen_choice_id:
            raise ChoiceAlreadyMade(f"Choice {self.choice_id} was already made")
        if choice is None:
            if workflow_selectors.session_choice_taken(session, self.choice_id):
                raise ChoiceAlreadyMade(f"Choice {self.choice_id} was already made")
            raise ChoiceNotOffered(
                f"choiceId: {self.choice_id} is not one of the choices last offered",
                details=[
                    {
                        "field": "choiceId",
                        "message": "Must be one of the choices the session was last offered.",
                    }
                ],
            )
        self._lock(session)
        self._advance(session, offer, choice)
        return session

    def _advance(self, session: Chat, offer: Message, choice: dict) -> None:
        project = session.project
        Message.objects.filter(pk=offer.pk).update(chosen_choice_id=choice["id"])
        step = workflow.working_step(project)
        self.step_completed = step
        if step is not None:
            self.advanced = step not in (project.completed_steps or [])
            self.progress = workflow.step_advance(
                project=project, step=step, next_step=offer.next_step or None
            )
        else:
            self.progress = workflow.progress(project)
        text = self.custom_input if self.custom_input else _choice_text(choice)
        decision = {"step": step or workflow.PHASE_COMPLETE, "choiceId": choice["id"], "text": text}
        session_touch(session, decision=decision)
        self.user_message = user_line_store(
            session,
            self.user,
            text,
            [],
            metadata={"choiceId": choice["id"], "customInput": bool(self.custom_input)},
        )
        publish.progress_updated(
            group=publish.project_session_group(session.public_id),
            progress={
                "session_id": session.public_id,
                "project_id": project.pk,
                "percentage": self.progress.percentage,
                "step_completed": step,
                "next_step": workflow.working_step(project) or workflow.PHASE_COMPLETE,
                "completed_steps": list(self.progress.completed_steps),
                "next_steps": list(self.progress.next_steps),
            },
        )


def _choice_text(choice: dict) -> str:
    if choice.get("description"):
        return f"{choice['title']}: {choice['description']}"
    return choice["title"]


# --- entry points ----------------------------------------------------------------------------


@dataclass
class WorkflowResult:
    session: Chat
    user_message: Message
    reply: Message
    progress: workflow.Progress
    hooks: WorkflowReply


async def _run(hooks: WorkflowReply) -> WorkflowResult:
    # Every M turn counts against its member's AI_TURN_RATE, over REST and the socket alike.
    turn = await engine.start(
        key=f"project-session.{uuid.uuid4().hex}", hooks=hooks, caller=f"user-{hooks.user.pk}"
    )
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
