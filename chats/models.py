"""Chats and their messages: family A's assistant chats and family C's character chats."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

TITLE_MAX_CHARS = 100
CLIENT_ID_MAX_CHARS = 128


class ChatKind(models.TextChoices):
    CONVERSATION = "conversation", "Assistant or character chat (A, C)"
    PROJECT_SESSION = "project_session", "Movie project chat session (M)"


class SessionStatus(models.TextChoices):
    """A project session's stored status; "paused" is derived from idleness on read."""

    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"


class ConversationManager(models.Manager):
    """`Chat.objects`: the chats of families A and C only.

    Family M's project sessions share the table and the turn engine, but every A and C route
    reads through `Chat.objects`, so none of them can list or reach a project session. M's
    code reads through `Chat.sessions`; the admin and relations use `Chat.all_chats`.
    """

    def get_queryset(self):
        return super().get_queryset().filter(kind=ChatKind.CONVERSATION)


class ProjectSessionManager(models.Manager):
    """`Chat.sessions`: family M's project chat sessions only."""

    def get_queryset(self):
        return super().get_queryset().filter(kind=ChatKind.PROJECT_SESSION)


def new_session_id() -> str:
    """A project session's public id, e.g. "session-9b2f…" (random, not guessable)."""
    return f"session-{secrets.token_hex(12)}"


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
    leaf = models.ForeignKey(
        "Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="A and C: the last message of the active branch (empty: no message yet).",
    )
    state_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Family M: a chat session bound to a movie project and a step of its workflow.
    kind = models.CharField(
        max_length=20, choices=ChatKind.choices, default=ChatKind.CONVERSATION, db_index=True
    )
    public_id = models.CharField(
        max_length=48,
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text="Project sessions: the API's `session-…` id; empty for A and C chats.",
    )
    project = models.ForeignKey(
        "projects.Project",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="chat_sessions",
    )
    current_step = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=SessionStatus.choices, blank=True)
    last_activity = models.DateTimeField(null=True, blank=True)
    context_data = models.JSONField(default=dict, blank=True)

    all_chats = models.Manager()
    sessions = ProjectSessionManager()
    objects = ConversationManager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        # Relations, the admin and cascades see every chat; A and C read `Chat.objects`.
        default_manager_name = "all_chats"
        base_manager_name = "all_chats"
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="chat_owner_newest"),
            models.Index(fields=["anon_id", "-created_at"], name="chat_anon_newest"),
            models.Index(fields=["project", "-last_activity"], name="chat_session_activity"),
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
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
        help_text="A and C: the message this one follows; siblings are versions of one turn.",
    )
    client_id = models.CharField(max_length=CLIENT_ID_MAX_CHARS)
    role = models.CharField(max_length=16, choices=MessageRole.choices)
    content = models.TextField(blank=True)
    stopped = models.BooleanField(
        default=False, help_text="A reply stopped before it was complete."
    )
    state_snapshot = models.JSONField(
        null=True, blank=True, help_text="Character chats: the state this reply produced."
    )
    # Family M: who wrote a user line (sessions have several members), the choices a reply
    # offered, the media a line refers to, and the reply's metadata (processingTime).
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    choices = models.JSONField(null=True, blank=True)
    next_step = models.CharField(max_length=64, blank=True)
    chosen_choice_id = models.CharField(
        max_length=64, blank=True, help_text="The offered choice taken (an offer is used once)."
    )
    attachments = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    prompt = models.JSONField(
        null=True,
        blank=True,
        help_text="A and C replies: what was sent to the model (messages, lorebook, model).",
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
