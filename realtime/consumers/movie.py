"""The movie platform's socket `/api/v1/websocket` (seed 003 "WebSocket API", CONTRACTS.md
"Realtime").

Connecting needs a JWT (`Authorization: Bearer …`, or `?token=` where a browser cannot set
headers). Refusals are sent after the handshake, so browsers can read them: an error frame,
then the close code:
- 4401 `AUTH_REQUIRED`: no token, or an invalid or expired one;
- 4429 `RATE_LIMITED`: the user already has as many sockets open as their tier allows
  (free 5, pro 20, enterprise unlimited), counted across server processes.

An open socket keeps checking its right (realtime/consumers/rights.py): on a timer, on each
`join-session`, and for the token's expiry on every frame. When it is gone the socket gets an
error frame, then the close code:
- 4401 `AUTH_REQUIRED`: the token expired or is refused as REST would refuse it, the account
  was deleted or disabled, or the password changed since the token was issued;
- 4403 `ACCESS_DENIED`: the user is no longer a member of the project of a session the socket
  joined (a join the user was never entitled to is only refused with an error frame).

Client frames are JSON objects with a `type`: `join-session`, `leave-session`,
`chat-message`, `typing`, `choice-selected`. A socket follows the sessions it joined (only
members of the session's project may join; viewers may join and read, not write). A problem
with a frame never closes the socket: it gets `{type: "error", code, message}` with one of the
seed's codes. Writes go through the same services as REST (`chats.workflow.services`), and
what they store reaches every socket of the session as domain events rendered here:
`message-received` (a member's line), `ai-response` (the AI's reply with its choices),
`progress-update` (a step completed), `user-typing` (to the others only).
A `userId` in a client frame is ignored: the token says who speaks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from channels.db import database_sync_to_async
from django.conf import settings
from django.db.models import F, Func, IntegerField, Subquery

from accounts.models import User
from accounts.ownership import actor_or_none
from chats.models import Chat
from chats.workflow import selectors as workflow_selectors
from chats.workflow import services as workflow_services
from config.api.throttles import movie_rate_limit
from core.errors import DomainError, ErrorCode
from core.ratelimit import Rate
from projects.selectors import project_role, projects_readable_by
from realtime import events
from realtime.connection_slots import ConnectionSlot
from realtime.consumers import movie_frames as frames
from realtime.consumers.frames import frame_once
from realtime.consumers.intake import FrameIntakeConsumer
from realtime.consumers.rights import (
    CLOSE_ACCESS_GONE,
    RightGone,
    account_right,
    token_right,
)
from realtime.groups import group_leave

logger = logging.getLogger(__name__)

CLOSE_BAD_TOKEN = 4401
CLOSE_TOO_MANY_CONNECTIONS = 4429
REMOVED = RightGone(CLOSE_ACCESS_GONE, "You are no longer a member of this session's project")


def movie_socket_right(*, user, token: str, claims: dict, session_ids) -> RightGone | None:
    """Whether a socket of `user` may still hear the sessions it joined: its token and account
    stand (realtime.consumers.rights) and the user still may read every one of them (the
    projects' membership rule, projects.selectors). One query."""
    gone = token_right(token)
    if gone is not None:
        return gone
    rows = User.objects.filter(pk=user.pk)
    if session_ids:
        readable = (
            Chat.sessions.filter(
                public_id__in=list(session_ids), project__in=projects_readable_by(user)
            )
            .order_by()
            .annotate(count=Func(F("pk"), function="COUNT", output_field=IntegerField()))
            .values("count")
        )
        rows = rows.annotate(readable=Subquery(readable))
    row = rows.first()
    gone = account_right(row, claims)
    if gone is None and session_ids and row.readable < len(session_ids):
        gone = REMOVED
    return gone


@database_sync_to_async
def _session_join(user, token: str, claims: dict, joined, session_id) -> dict | RightGone:
    """The session's facts for a socket that may read it (raises the REST errors), or how
    the socket lost its right (checked again on every join)."""
    gone = movie_socket_right(user=user, token=token, claims=claims, session_ids=joined)
    if gone is not None:
        return gone
    session = workflow_selectors.session_get_for(user, session_id)
    return {
        "sessionId": session.public_id,
        "projectId": session.project_id,
        "role": project_role(user, session.project),
        "currentStep": session.current_step,
        "status": workflow_selectors.session_status(session),
    }


class MovieConsumer(FrameIntakeConsumer):
    # Broadcast events only render a frame: no hop through the sync thread per socket and
    # event (realtime/consumers/intake.py).
    kind_field = "type"
    frame_limit_setting = "MOVIE_WS_FRAME_MAX_BYTES"
    hop_free_events = frozenset({"message.stored", "progress.updated", "user.typing"})

    async def connect(self):
        self.user = actor_or_none(self.scope.get("user"))
        self.sessions: dict[str, dict] = {}
        self.tasks: set[asyncio.Task] = set()
        self.slot: ConnectionSlot | None = None
        self.heartbeat: asyncio.Task | None = None
        if self.scope.get("auth_error") or self.user is None:
            await self._refuse(
                CLOSE_BAD_TOKEN,
                ErrorCode.AUTH_REQUIRED,
                self.scope.get("auth_error") or "A Bearer token is required",
            )
            return
        slot = ConnectionSlot(user_pk=self.user.pk, tier=self.user.tier, owner=self.channel_name)
        if not await slot.claim():
            await self._refuse(
                CLOSE_TOO_MANY_CONNECTIONS,
                ErrorCode.RATE_LIMITED,
                f"Too many open connections: the {self.user.tier} tier allows {slot.limit}",
            )
            return
        self.slot = slot
        if slot.limit is not None:
            self.heartbeat = asyncio.create_task(self._keep_slot())
        await self.accept()
        self.rights_watch(self.scope.get("token"), self.scope.get("token_claims"))

    async def _refuse(self, code: int, error: ErrorCode, message: str) -> None:
        """Accept, say why, close: a browser reads the code only of an accepted socket."""
        await self.accept()
        await self.error(error, message)
        await self.close(code=code)

    async def _keep_slot(self) -> None:
        while True:
            await asyncio.sleep(self.slot.heartbeat_seconds)
            try:
                await self.slot.refresh()
            except Exception:
                logger.exception("Refreshing a socket's connection slot failed")

    async def disconnect(self, code):
        await self.rights_unwatch()
        if self.heartbeat is not None:
            self.heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.heartbeat
        if self.slot is not None:
            await self.slot.release()
            self.slot = None
        for session_id in list(self.sessions):
            await self._leave(events.project_session_group(session_id))
        self.sessions.clear()
        # Turns already started finish and are stored: the other members still see them.

    async def _leave(self, group: str) -> None:
        await group_leave(self.channel_layer, group, self.channel_name)

    # --- the socket's right (realtime/consumers/rights.py) ---------------------------------

    async def rights_check(self) -> RightGone | None:
        return await database_sync_to_async(movie_socket_right)(
            user=self.user,
            token=self.token,
            claims=self.token_claims,
            session_ids=list(self.sessions),
        )

    def rights_farewell(self, gone: RightGone) -> str:
        code = (
            ErrorCode.ACCESS_DENIED if gone.code == CLOSE_ACCESS_GONE else ErrorCode.AUTH_REQUIRED
        )
        return json.dumps({"type": "error", "code": str(code), "message": gone.message})

    async def rights_leave(self) -> None:
        # The close went out first; disconnect leaves again, harmlessly, when the client
        # answers it.
        for session_id in list(self.sessions):
            await self._leave(events.project_session_group(session_id))

    # --- client to server ------------------------------------------------------------------

    # --- client to server: the shared intake (realtime/consumers/intake.py) ----------------

    def intake_open(self) -> bool:
        return self.user is not None and self.slot is not None

    def frame_rate(self) -> tuple[str, str, Rate | None]:
        # Every frame counts against the user's tier limit, the same counter as M's REST.
        tier = getattr(self.user, "tier", "free") or "free"
        return "m", f"user-{self.user.pk}", Rate(movie_rate_limit(tier), settings.MOVIE_RATE_WINDOW)

    async def refuse(self, code: ErrorCode, message: str) -> None:
        await self.error(code, message)

    def frame_handlers(self) -> dict:
        return {
            "join-session": self.on_join,
            "leave-session": self.on_leave,
            "chat-message": self.on_chat_message,
            "typing": self.on_typing,
            "choice-selected": self.on_choice,
        }

    def _session_id(self, frame: dict) -> str | None:
        value = frame.get("sessionId")
        return value if isinstance(value, str) and value else None

    async def _joined(self, frame: dict) -> str | None:
        """The frame's session, if this socket joined it; else an error frame and None."""
        session_id = self._session_id(frame)
        if session_id is None:
            await self.error(ErrorCode.VALIDATION_ERROR, "sessionId: This field is required")
            return None
        if session_id not in self.sessions:
            await self.error(
                ErrorCode.WEBSOCKET_ERROR, f"Join session {session_id} first (join-session)"
            )
            return None
        return session_id

    async def on_join(self, frame: dict):
        session_id = self._session_id(frame)
        if session_id is None:
            await self.error(ErrorCode.VALIDATION_ERROR, "sessionId: This field is required")
            return
        try:
            facts = await _session_join(
                self.user, self.token, self.token_claims, list(self.sessions), session_id
            )
        except DomainError as exc:
            await self.error(exc.code, exc.message)
            return
        if isinstance(facts, RightGone):
            await self.rights_revoke(facts)
            return
        if self.right_gone is not None:
            return  # the watch closed the socket meanwhile
        session_id = facts["sessionId"]
        await self.channel_layer.group_add(
            events.project_session_group(session_id), self.channel_name
        )
        self.sessions[session_id] = facts
        await self.send_json({"type": "session-joined", **facts})

    async def on_leave(self, frame: dict):
        session_id = await self._joined(frame)
        if session_id is None:
            return
        await self.channel_layer.group_discard(
            events.project_session_group(session_id), self.channel_name
        )
        del self.sessions[session_id]
        await self.send_json({"type": "session-left", "sessionId": session_id})

    async def on_chat_message(self, frame: dict):
        session_id = await self._joined(frame)
        if session_id is None:
            return
        message = frame.get("message")
        attachments = frame.get("attachments") or []
        if not isinstance(message, str) or not message.strip():
            await self.error(ErrorCode.VALIDATION_ERROR, "message: Must be a non-empty string")
            return
        if not isinstance(attachments, list) or not all(isinstance(a, str) for a in attachments):
            await self.error(ErrorCode.VALIDATION_ERROR, "attachments: Must be a list of media ids")
            return
        self._spawn(
            workflow_services.session_message_send(
                user=self.user,
                project_id=self.sessions[session_id]["projectId"],
                session_id=session_id,
                message=message,
                attachments=attachments,
            )
        )

    async def on_choice(self, frame: dict):
        session_id = await self._joined(frame)
        if session_id is None:
            return
        choice_id = frame.get("choiceId")
        custom_input = frame.get("customInput")
        if not isinstance(choice_id, str) or not choice_id:
            await self.error(ErrorCode.VALIDATION_ERROR, "choiceId: This field is required")
            return
        if custom_input is not None and not isinstance(custom_input, str):
            await self.error(ErrorCode.VALIDATION_ERROR, "customInput: Must be a string")
            return
        self._spawn(
            workflow_services.session_choice_make(
                user=self.user,
                session_id=session_id,
                choice_id=choice_id,
                custom_input=custom_input,
            )
        )

    async def on_typing(self, frame: dict):
        session_id = await self._joined(frame)
        if session_id is None:
            return
        value = frame.get("isTyping")
        if not isinstance(value, bool):
            await self.error(ErrorCode.VALIDATION_ERROR, "isTyping: Must be true or false")
            return
        await events.typing(
            group=events.project_session_group(session_id),
            sender=self.channel_name,
            value=value,
            user_id=self.user.public_id,
            user={"id": self.user.public_id, "name": self.user.name or self.user.email},
            session_id=session_id,
        )

    # --- writes run beside the receive loop, so frames keep flowing while the AI answers ---

    def _spawn(self, coroutine) -> None:
        task = asyncio.create_task(self._report(coroutine))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _report(self, coroutine) -> None:
        """Run a write; its failure is told to this socket only (the stored lines reach every
        member as events)."""
        try:
            await coroutine
        except DomainError as exc:
            await self.error(exc.code, exc.message)
        except Exception:
            logger.exception("Movie socket write failed")
            await self.error(ErrorCode.INTERNAL_ERROR, "The request failed; please retry")

    # --- server to client ------------------------------------------------------------------

    async def send_json(self, content: dict) -> None:
        await self.send(text_data=json.dumps(content))

    async def error(self, code, message: str) -> None:
        await self.send_json({"type": "error", "code": str(code), "message": message})

    async def message_stored(self, event: dict) -> None:
        """A stored line of a joined session: a member's or the AI's reply."""
        text = await frame_once(event, frames.stored_frame)
        if text:  # empty: the line is gone already
            await self.send(text_data=text)

    async def progress_updated(self, event: dict) -> None:
        await self.send(text_data=await frame_once(event, frames.progress_frame))

    async def user_typing(self, event: dict) -> None:
        if event["sender"] != self.channel_name:
            await self.send(text_data=await frame_once(event, frames.typing_frame))
