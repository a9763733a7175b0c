"""Root URL map: admin, the OpenAPI schema and docs, and each family's routes."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.metrics import metrics_view
from config.ready import ReadyApi

urlpatterns = [
    path("admin/", admin.site.urls),
    # Prometheus; allowed networks or the metrics token only, else 404 (config/metrics.py).
    path("metrics", metrics_view, name="metrics"),
    # Readiness beside family A's liveness (/api/health), in A's envelope (config/ready.py).
    path("api/ready", ReadyApi.as_view(), name="ready"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's init script as a file, so the page works under a
    # Content-Security-Policy without 'unsafe-inline' scripts (HTTPS=1).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("api/auth/", include("accounts.urls")),
    path("api/v1/", include("projects.urls")),
    path("api/", include("games.urls")),
    path("api/", include("characters.urls")),
    path("api/", include("chats.urls")),
    path("api/v1/chat/", include("chats.workflow.urls")),
    path("api/v1/", include("media_library.urls")),
]
