"""Family A routes. The chat routes arrive with the assistant-chat issue."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from config.api.base import AssistantApiView
from config.api.schema import ASSISTANT_SIMPLE_ERRORS

APP_INIT_COOKIE = "app-init"


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
            samesite="None",
            secure=request.is_secure(),
            httponly=False,
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
