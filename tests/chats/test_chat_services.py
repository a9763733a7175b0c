"""The chat services and selectors an AI turn calls, and family A's identity authentication."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from rest_framework.request import Request

from accounts.services import tokens_for_user
from chats import selectors, services
from chats.errors import ChatContentTooLarge, ChatNotFound, ChatNotYours, InvalidChatState
from chats.identity import Identity, anonymous_identity_create
from chats.models import Chat, Message
from config.api.assistant_auth import (
    AssistantCookieAuthentication,
    OriginRefused,
    assistant_identity,
)
from config.api.authentication import BearerJWTAuthentication
from core.errors import AuthRequired
from tests.factories import ChatFactory, ChatMessageFactory

pytestmark = pytest.mark.django_db


class TestReplyStore:
    def test_stores_an_assistant_reply_under_its_id_and_updates_it_later(self):
        chat = ChatFactory()
        first = services.reply_store(chat.pk, "reply-1", "The lamp", stopped=True)
        assert (first.role, first.content, first.stopped) == ("assistant", "The lamp", True)
        second = services.reply_store(
            str(chat.pk), "reply-1", "The lamp is lit.", False, {"情绪": "calm"}
        )
        assert second.pk == first.pk
        stored = Message.objects.get(chat=chat, client_id="reply-1")
        assert (stored.content, stored.stopped, stored.state_snapshot) == (
            "The lamp is lit.",
            False,
            {"情绪": "calm"},
        )

    def test_a_reply_is_not_limited_to_32_kib(self):
        chat = ChatFactory()
        assert len(services.reply_store(chat.pk, "r", "a" * 40000).content) == 40000

    def test_a_deleted_chat_is_chat_not_found(self):
        chat = ChatFactory()
        Chat.objects.filter(pk=chat.pk).delete()
        with pytest.raises(ChatNotFound):
            services.reply_store(chat.pk, "reply-1", "Too late")
        assert not Message.objects.exists()


class TestMessageSave:
    def test_positional_call_and_server_made_id(self):
        chat = ChatFactory()
        message = services.message_save(chat, None, "user", "Hello")
        assert message.client_id.startswith("msg-") and len(message.client_id) > 8

    def test_an_update_keeps_stopped_and_snapshot_unless_given(self):
        chat = ChatFactory()
        services.reply_store(chat.pk, "reply-1", "Part", stopped=True, state_snapshot={"a": "b"})
        updated = services.message_save(chat, "reply-1", "assistant", "Part and the rest")
        assert (updated.stopped, updated.state_snapshot) == (True, {"a": "b"})
        cleared = services.message_save(chat, "reply-1", "assistant", "All", stopped=False)
        assert cleared.stopped is False

    def test_content_over_the_limit_is_refused(self):
        chat = ChatFactory()
        with pytest.raises(ChatContentTooLarge):
            services.message_save(chat, "m", "user", "x" * (32 * 1024 + 1))

    def test_bumps_the_chats_updated_at(self):
        chat = ChatFactory()
        before = Chat.objects.get(pk=chat.pk).updated_at
        services.message_save(chat, "m", "user", "Hello")
        assert Chat.objects.get(pk=chat.pk).updated_at > before


def test_chat_history_is_role_and_content_oldest_first():
    chat = ChatFactory()
    ChatMessageFactory(chat=chat, role="assistant", content="Welcome.")
    ChatMessageFactory(chat=chat, role="user", content="Hello")
    ChatMessageFactory(role="user", content="Another chat")
    expected = [
        {"role": "assistant", "content": "Welcome."},
        {"role": "user", "content": "Hello"},
    ]
    assert selectors.chat_history(chat) == expected
    assert selectors.chat_history(str(chat.pk)) == expected


def test_chat_get_for_tells_unknown_from_foreign():
    chat = ChatFactory()
    owner = Identity(anon_id=chat.anon_id)
    assert selectors.chat_get_for(owner, str(chat.pk)) == chat
    with pytest.raises(ChatNotYours):
        selectors.chat_get_for(Identity(anon_id="anon-someone-else"), chat.pk)
    with pytest.raises(ChatNotFound):
        selectors.chat_get_for(owner, "not-a-uuid")


def test_state_merge_is_all_or_nothing():
    chat = ChatFactory()
    services.chat_state_merge(chat, {"衣服": "a grey coat"})
    with pytest.raises(InvalidChatState):
        services.chat_state_merge(chat, {"情绪": "calm", "unknown": "x"})
    stored = Chat.objects.get(pk=chat.pk)
    assert stored.state == {"衣服": "a grey coat"}
    assert stored.state_updated_at is not None


class TestAssistantIdentity:
    """Family A's authentication classes and `assistant_identity`, on a DRF request."""

    @staticmethod
    def drf_request(request):
        authenticators = [BearerJWTAuthentication(), AssistantCookieAuthentication()]
        return Request(request, authenticators=authenticators)

    def test_a_bearer_token_names_the_user(self, user):
        token = tokens_for_user(user=user).access
        request = RequestFactory().get("/api/chats", HTTP_AUTHORIZATION=f"Bearer {token}")
        identity = assistant_identity(self.drf_request(request))
        assert identity.user == user and identity.public_id == user.public_id

    def test_no_identity_is_auth_required_or_a_new_one(self):
        request = self.drf_request(RequestFactory().get("/api/chats"))
        assert request.auth is None
        with pytest.raises(AuthRequired):
            assistant_identity(request)
        created = assistant_identity(request, create=True)
        assert created.is_anonymous and created.session_key

    def test_a_cookie_names_its_anonymous_identity(self, settings):
        created = anonymous_identity_create()
        factory = RequestFactory()
        factory.cookies[settings.ASSISTANT_SESSION_COOKIE_NAME] = created.session_key
        identity = assistant_identity(self.drf_request(factory.get("/api/chats")))
        assert identity.anon_id == created.anon_id and identity.session_key is None

    def test_a_foreign_origin_is_refused_for_a_cookie_identity(self, settings):
        settings.CORS_ALLOW_ALL_ORIGINS = False
        settings.CORS_ALLOWED_ORIGINS = ["https://app.example.org"]
        request = RequestFactory().get("/api/chats", HTTP_ORIGIN="https://other.example.org")
        with pytest.raises(OriginRefused):
            assert self.drf_request(request).auth is None
