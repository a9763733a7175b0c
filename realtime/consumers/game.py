"""The game socket `/ws?sessionId=…&token=…` (seed 001 section 9, CONTRACTS.md "Realtime").

Close codes, sent after the handshake so browsers can read them:
- 4401: the token is invalid, or GAME_REQUIRE_AUTH is on and none was sent;
- 4403: the session belongs to another user (with GAME_REQUIRE_AUTH: 4404, as over REST);
- 4404: unknown session (or no sessionId);
- 4409: the session has ended.
A socket opened with a token keeps checking its right (realtime/consumers/rights.py) and is
closed, with the reason, when it is gone: 4401 when the token expired, the account was deleted
or disabled or the password changed; 4403 when the session now belongs to someone else; 4404
when the session was deleted. Anonymous sockets are not watched.
Every frame the server sends is JSON with a `kind`. Frames from a client that connected with
`stream=1` also include `chat_delta` frames while the game master's reply is generated.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.conf import settings
from django.db.models import Exists, Subquery
from rest_framework.exceptions import ValidationError

from accounts.models import User
from accounts.ownership import actor_or_none
from config.api.errors import normalise
from core.errors import DomainError, ErrorCode
from core.ratelimit import Rate
from games import ai_services, selectors
from games.ai_serializers import ImageInput
from games.events import message_snapshot
from games.models import GameSession, Message
from games.serializers import MessageCreateInput
from realtime import events
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
CLOSE_FORBIDDEN = 4403
CLOSE_UNKNOWN_SESSION = 4404
CLOSE_SESSION_ENDED = 4409
SESSION_GONE = RightGone(CLOSE_UNKNOWN_SESSION, "The session was deleted")
NOT_OWNER = RightGone(CLOSE_ACCESS_GONE, "The session belongs to another user now")
# The frame fields each action takes, checked by the REST route's serializer.
FIELDS_LINE = ("role", "content")
FIELDS_IMAGE = ("prompt", "size", "mime")


@database_sync_to_async
def _session_state(session_id: str):
    """(canonical id or None, ended, owner_id) of a session."""
    try:
        session = selectors.session_get(session_id=session_id)
    except DomainError:
        return None, False, None
    return str(session.pk), session.is_ended, session.owner_id


def game_socket_right(*, user, token: str, claims: dict, session_id: str) -> RightGone | None:
    """Whether a token socket of `user` may still follow the game session: its token and
    account stand (realtime.consumers.rights) and the session, if owned, is still the user's.
    One query."""
    gone = token_right(token)
    if gone is not None:
        return gone
    session = GameSession.objects.filter(pk=session_id)
    row = (
        User.objects.filter(pk=user.pk)
        .annotate(
            session_there=Exists(session),
            session_owner=Subquery(session.values("owner_id")[:1]),
        )
        .first()
    )
    gone = account_right(row, claims)
    if gone is not None:
        return gone
    if not row.session_there:
        return SESSION_GONE
    if row.session_owner is not None and row.session_owner != user.pk:
        return NOT_OWNER
    return None


class GameConsumer(FrameIntakeConsumer):
    # Every handler here either only renders a frame or reaches the database through
    # database_sync_to_async: no hop through the sync thread per event
    # (realtime/consumers/intake.py).
    kind_field = "action"
    frame_limit_setting = "GAME_WS_FRAME_MAX_BYTES"
    not_an_object = "A frame must be a JSON object with an action"
    hop_free_events = frozenset(
        {
            "message.stored",
            "reply.delta",
            "user.typing",
            "websocket.connect",
            "websocket.receive",
            "websocket.disconnect",
        }
    )

    async def connect(self):
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        self.session_id = (query.get("sessionId") or [""])[0]
        self.stream = (query.get("stream") or ["0"])[0].lower() in ("1", "true", "yes")
        self.user = actor_or_none(self.scope.get("user"))
        # Who this socket's frames and AI turns count against: the same identity (and so the
        # same counters) as the family's REST requests.
        client = self.scope.get("client") or ("unknown", 0)
        self.caller = f"user-{self.user.pk}" if self.user else f"addr-{client[0]}"
        # Made with the first turn: most sockets never start one, and an idle socket's every
        # object is walked by each full collection.
        self.tasks: set[asyncio.Task] | None = None
        self.group = None
        # In a task of its own, so in a copy of the socket's context: asgiref's thread hop
        # (the session's query) leaves a context variable set in the context it ran in, and
        # in the socket's own that would be two objects more for every full collection to
        # walk for as long as the socket lives.
        refusal = await asyncio.create_task(self._refusal())
        if refusal is not None:
            # Accept, then close: a browser reads the code only of an accepted socket.
            await self.accept()
            await self.close(code=refusal)
            return
        # Join the session's group before accepting, so that a client never misses a frame
        # broadcast just after its handshake completed.
        self.group = events.game_group(self.session_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        if self.stream:
            await self.channel_layer.group_add(
                events.game_stream_group(self.session_id), self.channel_name
            )
        await self.accept()
        # A token's right can go while the socket lives; an anonymous socket has none to lose.
        if self.user is not None:
            self.rights_watch(self.scope.get("token"), self.scope.get("token_claims"))

    async def _refusal(self) -> int | None:
        """The close code this connection gets, or None when it may join the session."""
        if self.scope.get("auth_error") or (settings.GAME_REQUIRE_AUTH and self.user is None):
            return CLOSE_BAD_TOKEN
        canonical_id, ended, owner_id = await _session_state(self.session_id)
        if canonical_id is None:
            return CLOSE_UNKNOWN_SESSION
        # The group name must match the one services publish to, whatever case the UUID
        # came in.
        self.session_id = canonical_id
        if ended:
            return CLOSE_SESSION_ENDED
        if owner_id is not None and (self.user is None or self.user.pk != owner_id):
            # With GAME_REQUIRE_AUTH another user's session is as unknown as over REST (404).
            return CLOSE_UNKNOWN_SESSION if settings.GAME_REQUIRE_AUTH else CLOSE_FORBIDDEN
        return None

    async def disconnect(self, code):
        await self.rights_unwatch()
        if self.group:
            await self._leave(self.group)
        if self.group and self.stream:
            await self._leave(events.game_stream_group(self.session_id))
        # Turns already started finish and are saved: the other players still see them.

    async def _leave(self, group: str) -> None:
        await group_leave(self.channel_layer, group, self.channel_name)

    # --- the socket's right (realtime/consumers/rights.py) ---------------------------------

    async def rights_check(self) -> RightGone | None:
        return await database_sync_to_async(game_socket_right)(
            user=self.user, token=self.token, claims=self.token_claims, session_id=self.session_id
        )

    async def rights_leave(self) -> None:
        # The close went out first; disconnect leaves again, harmlessly, when the client
        # answers it.
        if self.group:
            await self._leave(self.group)
        if self.group and self.stream:
            await self._leave(events.game_stream_group(self.session_id))

    # --- client to server ------------------------------------------------------------------

    # --- client to server: the shared intake (realtime/consumers/intake.py) ----------------

    def intake_open(self) -> bool:
        return self.group is not None

    def frame_rate(self) -> tuple[str, str, Rate | None]:
        return "game", self.caller, Rate.parse(settings.THROTTLE_RATES.get("game"))

    async def refuse(self, code: ErrorCode, message: str) -> None:
        await self.info(message)

    def frame_handlers(self) -> dict:
        return {
            "user_message": self.on_user_message,
            "image": self.on_image,
            "typing": self.on_typing,
        }

    def _frame_input(self, serializer_class, frame: dict, fields: tuple[str, ...]) -> dict:
        """Check the frame's `fields` with the REST route's own serializer, so the socket
        refuses exactly what REST refuses, in the same words; raise ValidationError."""
        data = {"sessionId": self.session_id}
        data.update({name: frame[name] for name in fields if name in frame})
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    async def on_user_message(self, frame: dict):
        # POST /api/messages checks a user line; a line of blanks is no turn to answer.
        try:
            data = self._frame_input(MessageCreateInput, {**frame, "role": "user"}, FIELDS_LINE)
            if not data["content"].strip():
                raise ValidationError({"content": ["This field may not be blank."]})
        except ValidationError as exc:
            await self.info(normalise(exc).message)
            return
        self._spawn(self._user_turn(data["content"]))

    async def on_image(self, frame: dict):
        # POST /api/ai/image's serializer, then the service's own check, as on that route.
        try:
            data = self._frame_input(ImageInput, frame, FIELDS_IMAGE)
            ai_services.image_request_check(
                prompt=data["prompt"], size=data["size"], mime=data["mime"]
            )
        except ValidationError as exc:
            await self.info(normalise(exc).message)
            return
        except DomainError as exc:
            await self.info(exc.message)
            return
        self._spawn(self._image_turn(data["prompt"], data["size"], data["mime"]))

    async def on_typing(self, frame: dict):
        value = frame.get("value")
        if not isinstance(value, bool):
            await self.info("typing needs a boolean value")
            return
        await events.typing(
            group=self.group,
            sender=self.channel_name,
            value=value,
            user_id=self.user.public_id if self.user else None,
        )

    # --- turns run beside the receive loop, so broadcasts keep flowing meanwhile -----------

    def _spawn(self, coroutine) -> None:
        task = asyncio.create_task(coroutine)
        if self.tasks is None:
            self.tasks = set()
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _user_turn(self, content: str) -> None:
        """The turn runs in the engine's own task; this one only reports its failure to the
        socket that asked. The stored lines reach every socket as `message.stored` events."""
        try:
            await ai_services.user_message(
                session_id=self.session_id, content=content, actor=self.user, caller=self.caller
            )
        except DomainError as exc:
            await self.info(exc.message)
        except Exception:
            logger.exception("Game socket turn failed")
            await self.info("The game master could not answer; please retry")

    async def _image_turn(self, prompt: str, size: str, mime: str) -> None:
        try:
            await ai_services.image_create(
                session_id=self.session_id,
                prompt=prompt,
                size=size,
                mime=mime,
                actor=self.user,
                caller=self.caller,
            )
        except DomainError as exc:
            await self.info(exc.message)
        except Exception:
            logger.exception("Game socket image failed")
            await self.info("The image could not be generated; please retry")

    # --- server to client ------------------------------------------------------------------

    async def info(self, message: str, **extra) -> None:
        await self.send(text_data=json.dumps({"kind": "info", "message": message, **extra}))

    async def message_stored(self, event: dict) -> None:
        """A stored message of the session: a `chat` frame, or an `image` frame."""
        text = await frame_once(event, stored_frame)
        if text:  # empty: the message is gone already
            await self.send(text_data=text)

    async def reply_delta(self, event: dict) -> None:
        """Only sockets that connected with stream=1 are in the stream group."""
        await self.send(text_data=await frame_once(event, delta_frame))

    async def user_typing(self, event: dict) -> None:
        if event["sender"] != self.channel_name:
            await self.send(text_data=await frame_once(event, typing_frame))


# Frames of the session's events, the same for every socket (rendered once per event: see
# realtime.consumers.frames).


@database_sync_to_async
def stored_message(message_id: int) -> dict | None:
    """The stored message an event names, with its picture: one query."""
    message = Message.objects.select_related("image").filter(pk=message_id).first()
    return None if message is None else message_snapshot(message)


async def stored_frame(event: dict) -> str:
    """The frame of a stored message, loaded by the id the event carries ("" when it is
    gone)."""
    message = await stored_message(event["message"]["id"])
    if message is None:
        return ""
    image = message.get("image")
    if image:
        frame = {
            "kind": "image",
            "id": message["id"],
            "mime": image["mime"],
            "data": base64.b64encode(image["data"]).decode("ascii"),
            "alt": message["content"],
            "url": image["url"],
            "timestamp": message["created_at"],
        }
    else:
        frame = {
            "kind": "chat",
            "id": message["id"],
            "role": message["role"],
            "content": message["content"],
            "type": message["type"] or "chat",
            "timestamp": message["created_at"],
        }
    return json.dumps(frame)


def delta_frame(event: dict) -> str:
    return json.dumps(
        {
            "kind": "chat_delta",
            "role": "assistant",
            "delta": event["text"],
            "timestamp": event["at"],
        }
    )


def typing_frame(event: dict) -> str:
    return json.dumps(
        {"kind": "info", "message": "typing", "value": event["value"], "userId": event["user_id"]}
    )
