"""The family base views: thread hops per request, and the adrf pin."""

from __future__ import annotations

from importlib.metadata import version

import pytest
from asgiref.sync import AsyncToSync, SyncToAsync, sync_to_async
from django.conf import settings
from django.test import AsyncRequestFactory

from characters.apis import CharacterDetailApi
from chats.apis import ChatDetailApi
from chats.identity import anonymous_identity_create
from config.compat import adrf as compat_adrf
from tests.factories import ChatFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hops(monkeypatch) -> dict[str, int]:
    """Count calls of `sync_to_async` (a thread hop) and `async_to_sync` (a hop back to the
    event loop) while a view serves one request."""
    counted = {"sync_to_async": 0, "async_to_sync": 0}

    def counting(kind, call):
        def wrapper(self, *args, **kwargs):
            counted[kind] += 1
            return call(self, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(SyncToAsync, "__call__", counting("sync_to_async", SyncToAsync.__call__))
    monkeypatch.setattr(AsyncToSync, "__call__", counting("async_to_sync", AsyncToSync.__call__))
    return counted


async def test_a_sync_handler_of_an_async_class_runs_in_one_thread_hop(hops):
    """`GET /api/characters/<id>` (the REST benchmark's route) has a sync handler in a class
    with an async one. Stock adrf: 2 thread hops and 1 hop back to the loop; here: 1 and 0."""
    view = CharacterDetailApi.as_view()
    request = AsyncRequestFactory().get("/api/characters/999999999")
    response = await view(request, character_id="999999999")
    assert response.status_code == 404
    if compat_adrf.ACTIVE:
        assert hops == {"sync_to_async": 1, "async_to_sync": 0}
    else:
        assert hops == {"sync_to_async": 2, "async_to_sync": 1}


async def test_stock_adrf_serves_the_same_answer_in_more_hops(hops, monkeypatch):
    """The fallback the compat module uses on another adrf version: same answer."""
    monkeypatch.setattr(
        CharacterDetailApi,
        "async_dispatch",
        compat_adrf.StockAsyncAPIView.async_dispatch,
    )
    monkeypatch.setattr(
        CharacterDetailApi, "check_throttles", compat_adrf.StockAsyncAPIView.check_throttles
    )
    view = CharacterDetailApi.as_view()
    request = AsyncRequestFactory().get("/api/characters/999999999")
    response = await view(request, character_id="999999999")
    assert response.status_code == 404
    assert hops == {"sync_to_async": 2, "async_to_sync": 1}


def test_the_adrf_workaround_was_checked_for_the_installed_adrf():
    """Fails when the adrf pin moves: read config/compat/adrf.py again (does `dispatch` still
    call `async_dispatch` for `view_is_async`, and does `sync_dispatch` still run DRF's whole
    request cycle?), then add the version to TESTED. Until then the stock test above shows
    what stock adrf does."""
    assert compat_adrf.ACTIVE, (version("adrf"), compat_adrf.TESTED)
    pins = (settings.BASE_DIR / "requirements.txt").read_text().splitlines()
    [pinned] = [line.split("==", 1)[1] for line in pins if line.startswith("adrf==")]
    assert pinned in compat_adrf.TESTED, (pinned, compat_adrf.TESTED)


async def test_a_cookie_identity_is_resolved_in_the_authentication_hop(hops):
    """Family A's cookie identity is an authentication class, so it is read in the thread
    hop DRF's `initial()` runs in: a chat's detail takes that hop and the selector's, where
    resolving the identity in the handler took one more."""
    identity = await sync_to_async(anonymous_identity_create)()
    chat = await sync_to_async(ChatFactory)(anon_id=identity.anon_id)
    factory = AsyncRequestFactory()
    factory.cookies[settings.ASSISTANT_SESSION_COOKIE_NAME] = identity.session_key
    hops.update(sync_to_async=0, async_to_sync=0)
    response = await ChatDetailApi.as_view()(
        factory.get(f"/api/chats/{chat.pk}"), chat_id=str(chat.pk)
    )
    assert response.status_code == 200, response.content
    assert hops == {"sync_to_async": 2, "async_to_sync": 0}
