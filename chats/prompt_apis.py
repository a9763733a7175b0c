"""A reply's prompt, open to its chat's owner (beyond the seeds; SillyTavern's prompt
itemisation is the anchor): A's identity rules, but 404 for another identity's chat."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from chats.errors import ChatNotFound
from chats.prompt_selectors import message_prompt_get
from chats.prompt_serializers import MessagePromptOutput
from chats.selectors import CHAT_NOT_FOUND
from config.api.assistant import AssistantApiView
from config.api.assistant_auth import assistant_identity
from config.api.schema import ASSISTANT_ERRORS, ASSISTANT_SIMPLE_ERRORS
from core.errors import AuthRequired

CHAT_ID = OpenApiParameter(
    "chat_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The chat's id"
)
MESSAGE_ID = OpenApiParameter(
    "message_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The reply's message id"
)


class ChatMessagePromptApi(AssistantApiView):
    @extend_schema(
        tags=["assistant"],
        parameters=[CHAT_ID, MESSAGE_ID],
        responses={200: MessagePromptOutput, **ASSISTANT_ERRORS, **ASSISTANT_SIMPLE_ERRORS},
        summary="What was sent to the model for a reply",
        description=(
            "The messages sent (system prompt first, the history as the token budget "
            "trimmed it, post-history instructions last), the lorebook entries that fired "
            "and on which key, the model, and estimated tokens per part. The chat's owner "
            "only: another identity's chat, an unknown chat or message, and a message "
            "without a recorded prompt (a user line, an older reply) are 404."
        ),
    )
    def get(self, request, chat_id: str, message_id: str):
        try:
            identity = assistant_identity(request)
        except AuthRequired:
            # No identity owns no chat: as unknown as any other identity's (never a 401
            # that tells the chat exists).
            raise ChatNotFound(CHAT_NOT_FOUND) from None
        record = message_prompt_get(identity, chat_id, message_id)
        return Response(MessagePromptOutput({"messageId": message_id, **record}).data)
