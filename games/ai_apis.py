"""Family G's AI routes. Async views: a slow model never holds a server thread."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from accounts.ownership import actor_or_none
from ai.providers import diagnostics
from config.api.base import AsyncGameApiView, GameApiView
from config.api.params import body_input, path_int_id
from config.api.schema import GAME_ERRORS, GAME_ERRORS_WITH_CONFLICT, GameError
from config.api.throttles import caller_ident
from games import access, ai_services, selectors
from games.ai_serializers import (
    DialogueInput,
    DialogueOutput,
    ImageInput,
    ImageOutput,
    ScenarioInput,
    ScenarioOutput,
)

AI_ERRORS = {
    **GAME_ERRORS_WITH_CONFLICT,
    502: OpenApiResponse(GameError, description="The model gave an unusable answer"),
    503: OpenApiResponse(GameError, description="The model is unreachable; Retry-After set"),
}


async def _input(serializer_class, request) -> dict:
    return await sync_to_async(body_input)(serializer_class, request)


class ScenarioApi(AsyncGameApiView):
    @extend_schema(
        tags=["game: ai"],
        request=ScenarioInput,
        responses={200: ScenarioOutput, **AI_ERRORS},
        summary="Open the story from a catalogue title (created when unknown)",
    )
    async def post(self, request):
        data = await _input(ScenarioInput, request)
        title, message = await ai_services.generate_scenario(
            caller=caller_ident(request),
            session_id=data["sessionId"],
            template_title=data["templateTitle"],
            actor=actor_or_none(request.user),
        )
        return Response(ScenarioOutput({"gameTitle": title, "initialMessage": message}).data)


class DialogueApi(AsyncGameApiView):
    @extend_schema(
        tags=["game: ai"],
        request=DialogueInput,
        responses={200: DialogueOutput, **AI_ERRORS},
        summary="The game master's answer; the player's line and the answer are logged",
    )
    async def post(self, request):
        data = await _input(DialogueInput, request)
        message = await ai_services.dialogue(
            caller=caller_ident(request),
            session_id=data["sessionId"],
            history=[dict(line) for line in data["history"]],
            actor=actor_or_none(request.user),
        )
        return Response(DialogueOutput(message).data)


class ImageApi(AsyncGameApiView):
    @extend_schema(
        tags=["game: ai"],
        request=ImageInput,
        responses={200: ImageOutput, **AI_ERRORS},
        summary="Generate a PNG or JPEG for the session; logged with an image_url",
    )
    async def post(self, request):
        data = await _input(ImageInput, request)
        image, _ = await ai_services.image_create(
            caller=caller_ident(request),
            session_id=data["sessionId"],
            prompt=data["prompt"],
            size=data["size"],
            mime=data["mime"],
            actor=actor_or_none(request.user),
        )
        return Response(ImageOutput(image).data)


class ImageFileApi(GameApiView):
    @extend_schema(
        tags=["game: ai"],
        responses={200: OpenApiResponse(description="The image bytes"), **GAME_ERRORS},
        summary="Serve a generated image (the image_url of history rows)",
    )
    def get(self, request, image_id: str):
        image = selectors.game_image_get(
            image_id=path_int_id(image_id, "Image"), actor=actor_or_none(request.user)
        )
        response = HttpResponse(bytes(image.data), content_type=image.mime)
        # An image is immutable; while sessions are private to their owners, no shared
        # cache may keep one for the next caller of the same URL.
        scope = "private" if access.ownership_private() else "public"
        response["Cache-Control"] = f"{scope}, max-age=31536000, immutable"
        return response


class AiDiagnosticsApi(GameApiView):
    @extend_schema(
        tags=["game: ai"],
        responses={200: OpenApiResponse(description="Provider and model per task"), **GAME_ERRORS},
        summary="Which AI provider serves each task (says when it is the offline one)",
        description=(
            "Open in the embedded demo; in the production shape (a database or Redis URL, or "
            "HTTPS, set) staff only: anyone else gets 404, as if the route did not exist, "
            "since it names the model servers' addresses and models."
        ),
    )
    def get(self, request):
        access.ensure_may_see_diagnostics(actor=actor_or_none(request.user))
        return Response(diagnostics())
