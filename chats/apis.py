"""Family A routes (seed 004) and family C's chat state (seed 002).

Views translate: resolve the caller's identity, parse the body, call one selector or service,
render. Errors are raised and rendered as `{"statusCode", "statusMessage"}`. The chat detail
and messages views are async (adrf): the detail class also serves the streamed reply
(`POST /api/chats/{id}`), and a user message of a character chat runs an AI turn.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response

from ai import registry, replay
from chats import ai_services, branches, selectors, services, sse, stream_admission
from chats.ai_serializers import (
    CharacterTurnOutput,
    CharacterTurnPartialOutput,
    ChatStreamInput,
    StreamStopOutput,
)
from chats.models import MessageRole
from chats.serializers import (
    ChatCreateInput,
    ChatDetailOutput,
    ChatMessageInput,
    ChatMessageOutput,
    ChatOutput,
    ChatStateInput,
    ChatStateOutput,
    ChatUpdateInput,
    chat_input,
)
from config.api.assistant import AssistantApiView, AsyncAssistantApiView
from config.api.assistant_auth import (
    assistant_identity,
    cross_site_cookie_attributes,
    identity_cookie_set,
)
from config.api.schema import ASSISTANT_ERRORS, ASSISTANT_SIMPLE_ERRORS
from config.api.throttles import caller_ident

APP_INIT_COOKIE = "app-init"
CHAT_ERRORS = {**ASSISTANT_ERRORS, **ASSISTANT_SIMPLE_ERRORS}
CHAT_ID = OpenApiParameter(
    "chat_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The chat's id"
)
INVALID_MESSAGE = "Invalid message data"


class PingApi(AssistantApiView):
    """Answer "ok" and set the `app-init` cookie (the seed's Safari ITP workaround)."""

    authentication_classes = []
    throttle_classes = []

    @extend_schema(
        tags=["assistant"],
        responses={
            200: OpenApiResponse(description='The JSON string "ok"'),
            **ASSISTANT_SIMPLE_ERRORS,
        },
        summary="Ping; sets the app-init cookie",
    )
    def get(self, request):
        response = Response("ok")
        response.set_cookie(
            APP_INIT_COOKIE,
            "1",
            max_age=60 * 60 * 24 * 365,
            httponly=False,
            **cross_site_cookie_attributes(request),
        )
        return response


class HealthApi(AssistantApiView):
    """Answer "running" while the process serves requests."""

    authentication_classes = []
    throttle_classes = []

    @extend_schema(
        tags=["assistant"],
        responses={
            200: OpenApiResponse(description='The JSON string "running"'),
            **ASSISTANT_SIMPLE_ERRORS,
        },
        summary="Health check",
    )
    def get(self, request):
        return Response("running")


class ChatListApi(AssistantApiView):
    @extend_schema(
        tags=["assistant"],
        responses={200: ChatOutput(many=True), **CHAT_ERRORS},
        summary="The caller's chats, newest first",
    )
    def get(self, request):
        identity = assistant_identity(request)
        chats = selectors.chat_list_for(identity)
        return Response(ChatOutput(chats, many=True).data)

    @extend_schema(
        tags=["assistant"],
        request=ChatCreateInput,
        responses={201: ChatDetailOutput, **CHAT_ERRORS},
        summary="Create a chat (and, without a token, the caller's cookie identity)",
    )
    def post(self, request):
        data = chat_input(ChatCreateInput, request)
        identity = assistant_identity(request, create=True)
        chat = services.chat_create(
            identity=identity, prompt=data["prompt"], character_id=data.get("characterId")
        )
        response = Response(ChatDetailOutput(chat).data, status=201)
        identity_cookie_set(response, request, identity)
        return response


class StreamNegotiation(DefaultContentNegotiation):
    """The stream routes answer `text/event-stream` (a streamed response that no renderer
    touches) or a JSON body. A client that accepts only `text/event-stream`, as SSE clients
    and `EventSource` do, gets the stream, and A's JSON error body when the turn cannot start,
    instead of 406."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            if "text/event-stream" not in request.headers.get("Accept", ""):
                raise
            return renderers[0], renderers[0].media_type


class ChatDetailApi(AsyncAssistantApiView):
    content_negotiation_class = StreamNegotiation

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method == "POST":
            # A streamed reply's request lasts as long as its reply, and its start may wait at
            # the gate: its thread gives back its database connections here, in the hop that
            # authenticated it, not in a hop of its own (`sse.connections_released`).
            sse.connections_give_back()

    @extend_schema(
        tags=["assistant"],
        parameters=[CHAT_ID],
        responses={200: ChatDetailOutput, **CHAT_ERRORS},
        summary="A chat with all its messages, oldest first",
    )
    async def get(self, request, chat_id: str):
        identity = assistant_identity(request)
        chat = await sync_to_async(selectors.chat_get_with_messages)(identity, chat_id)
        return Response(ChatDetailOutput(chat).data)

    @extend_schema(
        tags=["assistant"],
        parameters=[CHAT_ID],
        request=ChatUpdateInput,
        responses={200: ChatOutput, **CHAT_ERRORS},
        summary="Rename a chat (the title comes from `title`, else `content`)",
    )
    async def put(self, request, chat_id: str):
        identity = assistant_identity(request)
        chat = await sync_to_async(selectors.chat_get_for)(identity, chat_id)
        data = await sync_to_async(chat_input)(ChatUpdateInput, request)
        chat = await sync_to_async(services.chat_title_set)(chat=chat, title=data["title"])
        return Response(ChatOutput(chat).data)

    @extend_schema(
        tags=["assistant"],
        parameters=[CHAT_ID],
        responses={200: ChatOutput, **CHAT_ERRORS},
        summary="Delete a chat and its messages; answers the deleted chat",
    )
    async def delete(self, request, chat_id: str):
        identity = assistant_identity(request)
        chat = await sync_to_async(selectors.chat_get_for)(identity, chat_id)
        chat = await sync_to_async(services.chat_delete)(chat=chat)
        return Response(ChatOutput(chat).data)

    @extend_schema(
        tags=["assistant"],
        parameters=[CHAT_ID],
        request=ChatStreamInput,
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                OpenApiTypes.STR,
                description=(
                    'Server-Sent Events: `event: <type>` + `data: {"type": <type>, ...}` '
                    "parts (start, text-start, text-delta, text-end, reasoning-*, error, "
                    "finish), then `data: [DONE]`"
                ),
            ),
            409: OpenApiResponse(description="A reply of this chat is already in flight"),
            **CHAT_ERRORS,
        },
        summary="Stream the assistant's reply (AI SDK UI message stream)",
        description=(
            "regenerate-message: a new version of the reply `messageId` (404: unknown id, "
            "400: no assistant reply); a stored user id with new text is an edit (README)."
        ),
        operation_id="chats_stream",
    )
    async def post(self, request, chat_id: str):
        async with stream_admission.start_gate():
            identity = assistant_identity(request)
            data = await stream_admission.stream_body(request, identity, chat_id)
            # The chat is read, checked and locked once, by the turn's prepare step.
            turn, _ = await ai_services.sdk_reply_start(
                chat_id=chat_id, owner=identity, data=data, caller=caller_ident(request)
            )
        return sse.sse_response(turn)


class ChatStreamApi(AsyncAssistantApiView):
    """Resume or stop a chat's reply in flight (the AI SDK's resume convention)."""

    content_negotiation_class = StreamNegotiation

    @extend_schema(
        tags=["assistant"],
        parameters=[CHAT_ID],
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                OpenApiTypes.STR, description="The reply in flight, replayed from its start"
            ),
            204: OpenApiResponse(description="No reply of this chat is in flight"),
            **CHAT_ERRORS,
        },
        summary="Resume the reply in flight",
    )
    async def get(self, request, chat_id: str):
        identity = assistant_identity(request)
        chat = await sync_to_async(selectors.chat_get_for)(identity, chat_id)
        await sse.connections_released()
        key = ai_services.turn_key(chat.pk)
        turn = registry.find(key)
        if turn is not None:
            return sse.sse_response(turn)
        if await replay.live(key):
            return sse.sse_response(replay.read(key))
        return HttpResponse(status=204)

    @extend_schema(
        tags=["assistant"],
        parameters=[CHAT_ID],
        responses={200: StreamStopOutput, **CHAT_ERRORS},
        summary="Stop the reply in flight (what was generated is stored, marked stopped)",
    )
    async def delete(self, request, chat_id: str):
        identity = assistant_identity(request)
        chat = await sync_to_async(selectors.chat_get_for)(identity, chat_id)
        stopped = await ai_services.reply_stop(chat=chat)
        return Response(StreamStopOutput({"stopped": stopped}).data)


class ChatMessagesApi(AsyncAssistantApiView):
    @extend_schema(
        tags=["assistant"],
        parameters=[CHAT_ID],
        request=ChatMessageInput,
        responses={
            200: PolymorphicProxySerializer(
                component_name="SavedMessageOrCharacterTurn",
                serializers=[ChatMessageOutput, CharacterTurnOutput],
                resource_type_field_name=None,
            ),
            207: CharacterTurnPartialOutput,
            **CHAT_ERRORS,
        },
        summary="Save a message; saving a client id again updates it",
        description=(
            "A `user` message without an id in a character chat runs the character's turn "
            "and answers `{message, ai_response, state_snapshot}` (schema: CharacterTurn); "
            "any other message is saved and answered as it is stored (ChatMessage); "
            "or 207 with `state_error` when only the state extraction failed."
        ),
    )
    async def post(self, request, chat_id: str):
        identity = assistant_identity(request)
        chat = await sync_to_async(selectors.chat_get_for)(identity, chat_id)
        data = await sync_to_async(chat_input)(ChatMessageInput, request, prefix=INVALID_MESSAGE)
        if (
            chat.character_id is not None
            and data["role"] == MessageRole.USER
            and not data.get("id")
        ):
            return await self.character_turn(request, chat, data)
        message = await sync_to_async(services.message_save)(
            chat, data.get("id"), data["role"], data["content"]
        )
        return Response(ChatMessageOutput(message).data)

    async def character_turn(self, request, chat, data: dict) -> Response:
        """A user line of a character chat (family C): the character replies, then the state
        is extracted and merged. 207 when only the extraction failed (reply kept, state
        unchanged)."""
        user_message, outcome = await ai_services.character_turn(
            chat=chat, content=data["content"], caller=caller_ident(request)
        )
        answer = {"message": user_message, "reply": outcome.message}
        if "state_error" in outcome.extras:
            answer["state_error"] = {"message": outcome.extras["state_error"]}
            return Response(CharacterTurnPartialOutput(answer).data, status=207)
        answer["state"] = outcome.extras["state"]
        return Response(CharacterTurnOutput(answer).data)


class MessageActivateApi(AssistantApiView):
    """Switch versions: make a message (one version of a turn) part of the active branch."""

    @extend_schema(
        tags=["assistant"],
        parameters=[
            CHAT_ID,
            OpenApiParameter(
                "message_id",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="The id of the version to show",
            ),
        ],
        request=None,
        responses={200: ChatDetailOutput, **CHAT_ERRORS},
        summary="Make a message's version active; answers the chat as GET does",
        description=(
            "The active branch runs through it to its newest descendant; a character chat "
            "takes that branch's state. Owner only: others and unknown ids get 404."
        ),
    )
    def post(self, request, chat_id: str, message_id: str):
        identity = assistant_identity(request)
        chat = selectors.chat_get_own(identity, chat_id)
        branches.message_activate(chat, message_id=message_id)
        chat = selectors.chat_get_with_messages(identity, chat_id)
        return Response(ChatDetailOutput(chat).data)


class ChatStateApi(AssistantApiView):
    """Family C's chat state, on A's path: A's identity rules and error body."""

    @extend_schema(
        tags=["character chat"],
        parameters=[CHAT_ID],
        responses={200: ChatStateOutput, **CHAT_ERRORS},
        summary="The chat's state (updated_at is null until first set)",
    )
    def get(self, request, chat_id: str):
        identity = assistant_identity(request)
        chat = selectors.chat_get_for(identity, chat_id)
        return Response(ChatStateOutput(chat).data)

    @extend_schema(
        tags=["character chat"],
        parameters=[CHAT_ID],
        request=ChatStateInput,
        responses={200: ChatStateOutput, **CHAT_ERRORS},
        summary="Merge state_update into the chat's state (unknown keys change nothing)",
    )
    def post(self, request, chat_id: str):
        identity = assistant_identity(request)
        chat = selectors.chat_get_for(identity, chat_id)
        data = chat_input(ChatStateInput, request)
        chat = services.chat_state_merge(chat, data.get("state_update"))
        return Response(ChatStateOutput(chat).data)
