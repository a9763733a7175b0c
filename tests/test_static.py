"""Static files (admin, Swagger UI) are served by the server itself, with cache headers."""

import httpx
import pytest
from django.conf import settings
from django.utils.module_loading import import_string

from config.asgi import application
from config.static import AsyncWhiteNoiseMiddleware

pytestmark = pytest.mark.django_db


def test_every_middleware_can_run_on_the_event_loop():
    """One sync-only middleware would push every request's chain into a worker thread."""
    for path in settings.MIDDLEWARE:
        assert getattr(import_string(path), "async_capable", False), path
    assert "config.static.AsyncWhiteNoiseMiddleware" in settings.MIDDLEWARE


def test_whitenoise_itself_answers_for_static_files():
    async def next_handler(request):
        return None

    served = AsyncWhiteNoiseMiddleware(next_handler)
    assert isinstance(served.static, import_string("whitenoise.middleware.WhiteNoiseMiddleware"))


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/admin/css/base.css", "text/css"),
        ("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js", "text/javascript"),
    ],
)
def test_static_assets_are_served(client, path, content_type):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    assert "max-age" in response["Cache-Control"]
    assert b"".join(response.streaming_content)


@pytest.fixture
async def http():
    """A client of the production application, from the event loop of the test."""
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.mark.django_db(transaction=True)
async def test_static_assets_are_served_on_the_async_path(http):
    response = await http.get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")


@pytest.mark.django_db(transaction=True)
async def test_api_requests_pass_through_on_the_async_path(http):
    response = await http.get("/api/health")
    assert response.status_code == 200
    assert response.json() == "running"
