"""The workflow chat of movie projects (family M, seed 003 "Chat API Endpoints").

Views translate: parse the body with a serializer, call one service or selector, render with
a declared output serializer. `"success": true`, `X-Request-ID` and the rate-limit headers come
from `MovieApiView`; errors are raised and rendered in M's envelope. The two routes that wait
on the model are async, so a slow model holds no thread.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from chats.workflow import selectors as workflow_selectors
from chats.workflow import services as workflow_services
from chats.workflow.serializers import (
    ChatUploadInput,
    ChatUploadOutput,
    ChoiceInput,
    ChoiceResultOutput,
    SessionDetailEnvelope,
    SessionListOutput,
    SessionListQuery,
    WorkflowMessageInput,
    WorkflowMessageOutput,
)
from config.api.base import AsyncMovieApiView, MovieApiView
from config.api.schema import MOVIE_ERRORS, MovieError
from media_library.files import limit_uploads
from media_library.services import upload_limit_for

TAGS = ["movie chat"]
AI_ERRORS = {
    409: OpenApiResponse(MovieError, description="A reply is in flight, or choice already made"),
    502: OpenApiResponse(MovieError, description="AI_SERVICE_ERROR: the model answered wrongly"),
    503: OpenApiResponse(MovieError, description="The model is unreachable; retry later"),
}
SESSION_ID = OpenApiParameter(
    "session_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The session's id"
)


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ChatMessageApi(AsyncMovieApiView):
    @extend_schema(
        tags=TAGS,
        request=WorkflowMessageInput,
        responses={200: WorkflowMessageOutput, **MOVIE_ERRORS, **AI_ERRORS},
        summary="Send a line in a project's chat session (a new session without sessionId); "
        "the AI answers with 2-4 choices",
    )
    async def post(self, request):
        data = await sync_to_async(_valid)(WorkflowMessageInput, request.data)
        result = await workflow_services.session_message_send(
            user=request.user,
            project_id=data["projectId"],
            session_id=data.get("sessionId"),
            message=data["message"],
            attachments=data.get("attachments") or [],
        )
        return Response(await sync_to_async(lambda: WorkflowMessageOutput(result).data)())


class ChatChoiceApi(AsyncMovieApiView):
    @extend_schema(
        tags=TAGS,
        request=ChoiceInput,
        responses={200: ChoiceResultOutput, **MOVIE_ERRORS, **AI_ERRORS},
        summary="Take one of the choices the session was last offered; the workflow advances",
    )
    async def post(self, request):
        data = await sync_to_async(_valid)(ChoiceInput, request.data)
        result = await workflow_services.session_choice_make(
            user=request.user,
            session_id=data["sessionId"],
            choice_id=data["choiceId"],
            custom_input=data.get("customInput"),
        )
        return Response(await sync_to_async(lambda: ChoiceResultOutput(result).data)())


class ChatSessionDetailApi(MovieApiView):
    @extend_schema(
        tags=TAGS,
        parameters=[SESSION_ID],
        responses={200: SessionDetailEnvelope, **MOVIE_ERRORS},
        summary="A session with its whole conversation and context",
    )
    def get(self, request, session_id: str):
        session = workflow_selectors.session_detail_for(request.user, session_id)
        return Response(SessionDetailEnvelope({"session": session}).data)


class ChatSessionListApi(MovieApiView):
    @extend_schema(
        tags=TAGS,
        parameters=[
            OpenApiParameter("projectId", OpenApiTypes.STR, description="Only this project's"),
            OpenApiParameter("status", OpenApiTypes.STR, enum=["active", "paused", "completed"]),
            OpenApiParameter("page", OpenApiTypes.INT, description="From 1"),
            OpenApiParameter("limit", OpenApiTypes.INT, description="Default 20, at most 100"),
        ],
        responses={200: SessionListOutput, **MOVIE_ERRORS},
        summary="Sessions of every project the caller is a member of, most recent first",
    )
    def get(self, request):
        query = _valid(SessionListQuery, request.query_params)
        sessions = workflow_selectors.sessions_for(
            request.user, project_id=query.get("projectId"), status=query.get("status")
        )
        items, pagination = self.paginate(sessions, request)
        return Response(SessionListOutput({"sessions": items, "pagination": pagination}).data)


class ChatUploadApi(MovieApiView):
    parser_classes = [MultiPartParser, FormParser]
    # One file: the body limit at the ASGI boundary is one file of the tier (config/body_limit.py).
    upload_max_files = 1

    @extend_schema(
        tags=TAGS,
        request={"multipart/form-data": ChatUploadInput},
        responses={
            200: ChatUploadOutput,
            **MOVIE_ERRORS,
            413: OpenApiResponse(MovieError, description="FILE_TOO_LARGE for the caller's tier"),
            415: OpenApiResponse(MovieError, description="UNSUPPORTED_FORMAT (told by content)"),
        },
        summary="Upload one file to the project and attach it to the session",
    )
    def post(self, request):
        # Before the body is parsed: the file streams to a temporary file, cut at the tier's
        # limit, as media upload does; the service reports it as FILE_TOO_LARGE.
        limit_uploads(request, limit=upload_limit_for(request.user))
        data = _valid(ChatUploadInput, request.data)
        upload = workflow_services.session_upload(
            user=request.user,
            project_id=data["projectId"],
            session_id=data["sessionId"],
            file=data["file"],
            description=data["description"],
            media_type=data["mediaType"] or None,
        )
        return Response(ChatUploadOutput(upload).data)
