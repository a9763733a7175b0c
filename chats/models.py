"""Chats and their messages: family A's assistant chats and family C's character chats."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

TITLE_MAX_CHARS = 100
CLIENT_ID_MAX_CHARS = 128


class Chat(models.Model):
    """A conversation owned by a signed-in user or by an anonymous cookie identity.

    A chat with a `character` is a character chat (family C): its turns speak as the
    character and keep `state`, the scene as the state extractor last saw it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=TITLE_MAX_CHARS, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="chats",
        help_text="The signed-in owner; empty for an anonymous cookie identity.",
    )
    anon_id = models.CharField(
        max_length=40,
        blank=True,
        help_text="The anonymous identity bound to a session cookie; empty for a user's chat.",
    )
    character = models.ForeignKey(
        "characters.Character",
        null=True,
        blank=True,
        # A character is deleted through family G's open routes; that must never delete
        # someone's conversation, so the chat stays and loses its persona.
        on_delete=models.SET_NULL,
        related_name="chats",
    )
    state = models.JSONField(default=dict, blank=True)
    state_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="chat_owner_newest"),
            models.Index(fields=["anon_id", "-created_at"], name="chat_anon_newest"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(owner__isnull=False) & Q(anon_id=""))
                | (Q(owner__isnull=True) & ~Q(anon_id="")),
                name="chat_exactly_one_owner",
            )
        ]

    def __str__(self) -> str:
        return self.title or str(self.pk)

    @property
    def user_ref(self) -> str:
        """`userId` as family A shows it: the user's public id, or the anonymous id."""
        return self.owner.public_id if self.owner_id else self.anon_id


class MessageRole(models.TextChoices):
    USER = "user", "User"
    ASSISTANT = "assistant", "Assistant"
    SYSTEM = "system", "System"


class Message(models.Model):
    """One message of a chat. `client_id` is the API's `id`: chosen by the client or made
    by the server (`msg-…`), unique within the chat, so saving it again updates it."""

    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="messages")
    client_id = models.CharField(max_length=CLIENT_ID_MAX_CHARS)
    role = models.CharField(max_length=16, choices=MessageRole.choices)
    content = models.TextField(blank=True)
    stopped = models.BooleanField(
        default=False, help_text="A reply stopped before it was complete."
    )
    state_snapshot = models.JSONField(
        null=True, blank=True, help_text="Character chats: the state this reply produced."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["chat", "created_at"], name="chat_message_order")]
        constraints = [
            models.UniqueConstraint(fields=["chat", "client_id"], name="chat_message_client_id")
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:60]}"
