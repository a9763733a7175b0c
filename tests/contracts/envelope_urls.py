"""Test-only URL map: the project's routes plus probe views that fail on purpose.

Some errors cannot be provoked through a real route (an unhandled exception, family A's
rate limit or JSON body, an M route that requires a token). Each probe subclasses one family
base class, so the error it provokes is rendered exactly as that family's real views render
it; plain Django views under each prefix show the middleware's handling of errors raised
outside DRF. Use with `@pytest.mark.urls("tests.contracts.envelope_urls")`.
"""

from __future__ import annotations

from django.http import Http404
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from config.api.assistant import AssistantApiView
from config.api.base import GameApiView, MovieApiView
from config.urls import urlpatterns as project_urlpatterns
from core.errors import NotFoundError

# Must never reach a client: it stands for a stack trace or internal detail.
SECRET = "probe-internal-detail-3f9a"


class ProbeMixin:
    """GET fails unhandled, POST echoes the parsed JSON body, DELETE is a domain 404."""

    def get(self, request):
        raise RuntimeError(SECRET)

    def post(self, request):
        return Response({"received": request.data})

    def delete(self, request):
        raise NotFoundError("Probe 123 not found")


class GameProbe(ProbeMixin, GameApiView):
    pass


class AssistantProbe(ProbeMixin, AssistantApiView):
    pass


class MovieProbe(ProbeMixin, MovieApiView):
    permission_classes = [AllowAny]


class MoviePrivateProbe(MovieApiView):
    """An M route with the family's default policy: a Bearer token is required."""

    def get(self, request):
        return Response({"success": True})


@csrf_exempt
def plain_boom(request):
    """A plain Django view (no DRF handler) whose exception escapes to the middleware."""
    raise RuntimeError(SECRET)


@csrf_exempt
def plain_missing(request):
    raise Http404(SECRET)


PROBE_PATHS = {
    "G": "/api/__envelope__/probe",
    "A": "/api/chats/__envelope__/probe",
    "M": "/api/v1/__envelope__/probe",
}
PLAIN_PATHS = {
    "G": "/api/__envelope__/plain",
    "A": "/api/chats/__envelope__/plain",
    "M": "/api/v1/__envelope__/plain",
}
PLAIN_MISSING_PATHS = {family: f"{p}-missing" for family, p in PLAIN_PATHS.items()}
MOVIE_PRIVATE_PATH = "/api/v1/__envelope__/private"

urlpatterns = [
    path(PROBE_PATHS["G"][1:], GameProbe.as_view()),
    path(PROBE_PATHS["A"][1:], AssistantProbe.as_view()),
    path(PROBE_PATHS["M"][1:], MovieProbe.as_view()),
    path(MOVIE_PRIVATE_PATH[1:], MoviePrivateProbe.as_view()),
    *(path(p[1:], plain_boom) for p in PLAIN_PATHS.values()),
    *(path(p[1:], plain_missing) for p in PLAIN_MISSING_PATHS.values()),
    *project_urlpatterns,
]
