"""The game server's data: titles, games, sessions, story progress and the message log."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class GameTitle(models.Model):
    """A catalogue entry: what a game is about. Several games may share one title."""

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    image = models.CharField(max_length=2048, blank=True, help_text="Image URL")
    genre = models.CharField(max_length=100, blank=True, db_index=True)
    scenario = models.JSONField(
        null=True, blank=True, help_text='Optional {"hook", "role", "mission"} strings.'
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class Game(models.Model):
    """One game world; ids come from clients as numbers (or numeric strings).

    Several players' sessions may share a game, and its text reaches each of their prompts,
    so it is changed only by its owner, the user whose request first referenced it (see
    games.access)."""

    id = models.BigIntegerField(primary_key=True)
    title = models.CharField(max_length=200, blank=True)
    genre = models.CharField(max_length=100, blank=True)
    difficulty = models.CharField(max_length=50, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    game_title = models.ForeignKey(
        GameTitle, null=True, blank=True, on_delete=models.SET_NULL, related_name="games"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="games",
        help_text="The token holder whose request created it; only they (or staff) change it.",
    )
    # The last sequence_number handed out to a message of this game; bumped under a row lock.
    last_sequence_number = models.BigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Game {self.id}" + (f": {self.title}" if self.title else "")


class SessionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"


class GameSession(models.Model):
    """One play-through of a game by one player and character."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="sessions")
    user_ref = models.CharField(max_length=128, help_text="userId as the client sent it")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="game_sessions",
        help_text="The token holder who started it; only they may change it.",
    )
    character = models.ForeignKey(
        "characters.Character",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sessions",
    )
    status = models.CharField(
        max_length=16, choices=SessionStatus.choices, default=SessionStatus.ACTIVE
    )
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["game", "status"])]

    def __str__(self) -> str:
        return f"Session {self.id} (game {self.game_id}, {self.status})"

    @property
    def is_ended(self) -> bool:
        return self.status == SessionStatus.ENDED


class Progress(models.Model):
    """Story position of a session: chapter, step and the last message seen."""

    session = models.OneToOneField(
        GameSession, primary_key=True, on_delete=models.CASCADE, related_name="progress"
    )
    chapter = models.PositiveIntegerField(default=1)
    step = models.PositiveIntegerField(default=0)
    last_message = models.ForeignKey(
        "games.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "progress"

    def __str__(self) -> str:
        return f"Progress of {self.session_id}: chapter {self.chapter}, step {self.step}"


class Checkpoint(models.Model):
    """A named story fact of a session; one value per key, later writes replace it."""

    progress = models.ForeignKey(Progress, on_delete=models.CASCADE, related_name="checkpoints")
    key = models.CharField(max_length=200)
    value = models.JSONField(null=True, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["progress", "key"], name="unique_checkpoint_key")
        ]

    def __str__(self) -> str:
        return self.key


class MessageRole(models.TextChoices):
    SYSTEM = "system", "System"
    ASSISTANT = "assistant", "Assistant"
    USER = "user", "User"


class MessageType(models.TextChoices):
    CHAT = "chat", "Chat"
    DICE = "dice", "Dice"
    COMBAT = "combat", "Combat"


class Message(models.Model):
    """One entry of a session's log; `sequence_number` is gap-free per game."""

    session = models.ForeignKey(GameSession, on_delete=models.CASCADE, related_name="messages")
    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="messages")
    sequence_number = models.BigIntegerField()
    role = models.CharField(max_length=16, choices=MessageRole.choices)
    content = models.TextField(blank=True)
    type = models.CharField(max_length=16, choices=MessageType.choices, blank=True)
    image = models.ForeignKey(
        "games.GameImage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stopped = models.BooleanField(
        default=False, help_text="A reply stopped on purpose before the model finished it."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["game", "sequence_number"], name="unique_game_sequence_number"
            )
        ]
        indexes = [models.Index(fields=["session", "id"])]

    def __str__(self) -> str:
        return f"#{self.sequence_number} {self.role}: {self.content[:40]}"

    @property
    def image_url(self) -> str | None:
        """Where the server serves this message's picture, if it has one."""
        return image_url(self.image_id)


def image_url(image_id: int | None) -> str | None:
    """The one place that knows where generated images are served (`ImageFileApi`)."""
    return f"/api/ai/images/{image_id}" if image_id else None


class GameImage(models.Model):
    """A generated picture of a session, kept in the database so every server process can
    serve it (history rows link to it through `image_url`)."""

    session = models.ForeignKey(GameSession, on_delete=models.CASCADE, related_name="images")
    prompt = models.TextField()
    mime = models.CharField(max_length=32)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    data = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Image {self.pk} of {self.session_id}"
