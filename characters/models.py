"""Characters, shared by the game server (G) and the character chat (C)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

STAT_KEYS = ("strength", "dexterity", "wisdom", "charisma")


class Character(models.Model):
    """One table for both families: G's sheet fields and C's persona fields."""

    name = models.CharField(max_length=100)
    # G fields
    user_ref = models.CharField(
        max_length=128, blank=True, help_text="userId as the client sent it"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="characters",
        help_text="The token holder who created it; only they may change it.",
    )
    game = models.ForeignKey(
        "games.Game", null=True, blank=True, on_delete=models.CASCADE, related_name="characters"
    )
    character_class = models.CharField("class", max_length=50, blank=True)
    level = models.PositiveIntegerField(default=1)
    stats = models.JSONField(default=dict, blank=True)
    inventory = models.JSONField(default=list, blank=True)
    avatar = models.CharField(max_length=2048, blank=True)
    health = models.JSONField(default=dict, blank=True, help_text='{"current": n, "max": n}')
    # C fields
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    opening_line = models.TextField(blank=True)
    # Character Card V2/V3 (beyond the seeds): the card's fields that have no column above
    # (personality, scenario, first_mes is `opening_line`, alternate_greetings, system_prompt,
    # post_history_instructions, creator, character_version, extensions, V3's additions...),
    # kept as the card's `data` object has them so an export gives back the same card.
    card = models.JSONField(
        default=dict, blank=True, help_text="The card's other `data` fields, as imported."
    )
    character_book = models.JSONField(
        null=True,
        blank=True,
        help_text="The character's lorebook (the card's `character_book`), in the spec's shape.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["game", "created_at"])]

    def __str__(self) -> str:
        return self.name
