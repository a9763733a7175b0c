"""Anonymous identities do not pile up (security issue, item 9).

They are 365-day database sessions; once one has expired, no cookie can name it or its chats
again. `manage.py clear_anonymous_identities` deletes the expired sessions and those chats,
and the task worker runs it at start and every HOUSEKEEPING_EVERY_SECONDS.
"""

from __future__ import annotations

import signal
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone

from chats.models import Chat, Message
from tests.conftest import JsonClient
from tests.factories import UserFactory


def _anonymous_chat(client, prompt: str) -> Chat:
    response = client.post("/api/chats", {"prompt": prompt})
    assert response.status_code == 201, response.content
    return Chat.objects.get(pk=response.json()["id"])


def _age(chat: Chat, settings, extra: timedelta) -> None:
    """Move the chat, and the session of its identity, back past the identity's lifetime."""
    then = timezone.now() - timedelta(seconds=settings.ASSISTANT_SESSION_AGE) - extra
    Chat.objects.filter(pk=chat.pk).update(created_at=then)


def _world(client, settings):
    expired = _anonymous_chat(client, "An old picnic")
    _age(expired, settings, timedelta(days=1))
    # Its identity's session has expired too.
    Session.objects.update(expire_date=timezone.now() - timedelta(days=1))
    fresh = _anonymous_chat(JsonClient(), "A new picnic")
    owner = UserFactory()
    owned = Chat.objects.create(owner=owner, title="Kept by its user")
    Chat.objects.filter(pk=owned.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.ASSISTANT_SESSION_AGE * 2)
    )
    return expired, fresh, owned


@pytest.mark.django_db
def test_the_command_deletes_expired_identities_and_only_their_chats(client, settings):
    expired, fresh, owned = _world(client, settings)
    assert Message.objects.filter(chat=expired).exists()
    out = StringIO()

    call_command("clear_anonymous_identities", stdout=out)

    assert not Chat.objects.filter(pk=expired.pk).exists()
    assert not Message.objects.filter(chat_id=expired.pk).exists()
    assert Chat.objects.filter(pk__in=[fresh.pk, owned.pk]).count() == 2
    assert Session.objects.filter(expire_date__lt=timezone.now()).count() == 0
    assert Session.objects.count() == 1  # the fresh identity's
    assert "Deleted 1 anonymous chat(s)" in out.getvalue()


@pytest.mark.django_db
def test_a_chat_younger_than_the_identity_lifetime_is_kept(client, settings):
    chat = _anonymous_chat(client, "Still reachable")
    Chat.objects.filter(pk=chat.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.ASSISTANT_SESSION_AGE - 60)
    )
    call_command("clear_anonymous_identities", stdout=StringIO())
    assert Chat.objects.filter(pk=chat.pk).exists()
    assert client.get(f"/api/chats/{chat.pk}").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_task_worker_runs_the_clean_up_when_it_starts(client, settings):
    _expired, fresh, owned = _world(client, settings)
    # The command installs the worker's signal handlers; give pytest its own back after.
    handlers = {
        sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)
    }
    try:
        # --batch: return once no task is ready.
        call_command("media_worker", "--batch", "--no-startup-delay", verbosity=0)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert set(Chat.objects.values_list("pk", flat=True)) == {fresh.pk, owned.pk}
