"""Family M's part of a turn of the workflow chat: the engine's hooks for a member's line
(`MessageTurn`) and for a choice taken (`ChoiceTurn`).

*prepare* checks membership, claims the session in the turn registry (`ai.registry`, keyed
`project-session.<id>`: one turn per session at a time, across server processes, so a second
line meanwhile is 409, and the turn can be found and stopped like any family's), and stores
the line in one short transaction; the reply streams from the model (task `dialogue`);
*persist* asks for the choices (structured output, task `choices`; a malformed answer is
retried once by `ai.client`, then it is AIBadOutput, 502) and stores the reply together with
them, so a reply is never stored without its choices; `after_saved` emits the engine's
`Choices` event.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from channels.db import database_sync_to_async
from django.db import transaction

from accounts.models import User
from ai import client as ai
from ai import engine, events, registry
from chats.models import Chat, Message
from chats.services import new_client_id
from chats.workflow import prompts as workflow_prompts
from chats.workflow import selectors as workflow_selectors
from chats.workflow.errors import ChoiceAlreadyMade, ChoiceNotOffered, SessionTurnInFlight
from chats.workflow.records import (
    attachments_check,
    reply_store,
    session_create,
    session_for_write,
    session_touch,
    user_line_store,
)
from projects import workflow
from projects.selectors import project_get_for
from realtime import events as publish


def turn_key(session_id: str) -> str:
    """The turn registry's name for a session's conversation."""
    return f"project-session.{session_id}"


@dataclass
class WorkflowReply(engine.BaseHooks):
    """Family M's part of a turn. `_prepare_line` (a subclass's) stores the member's line in
    the locked transaction; the reply is stored with its choices."""

    user: User
    task: str = "dialogue"
    session: Chat | None = None
    user_message: Message | None = None
    started_at: float = field(default_factory=time.monotonic)
    step_before: str | None = None

    async def prepare(self) -> engine.TurnPlan:
        return await database_sync_to_async(self._prepare)()

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
        """Claim the session in the turn registry (after the access checks, so a stranger
        learns nothing of its turns); the engine frees it when the turn ends."""
        self.session = session
        if not registry.claim(turn_key(session.public_id)):
            raise SessionTurnInFlight(
                "The AI is still answering the previous line of this session; retry when it is done"
            )

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

    async def after_saved(self, message: Message, emit) -> dict:
        await emit(events.Choices(message.choices, message.next_step))
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
