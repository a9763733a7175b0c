"""One user table for every family: e-mail login and a subscription tier."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone


def new_public_id() -> str:
    """An unguessable public id in the movie platform's style, e.g. "user-3f9a0c1d2b4e"."""
    return f"user-{secrets.token_hex(6)}"


class Tier(models.TextChoices):
    FREE = "free", "Free"
    PRO = "pro", "Pro"
    ENTERPRISE = "enterprise", "Enterprise"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An e-mail address is required")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        if not extra["is_staff"] or not extra["is_superuser"]:
            raise ValueError("A superuser needs is_staff and is_superuser")
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person, or an anonymous cookie identity of the assistant chat (is_anonymous_identity)."""

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    email = models.EmailField(unique=True, null=True, blank=True)
    name = models.CharField(max_length=150, blank=True)
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.FREE)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    is_anonymous_identity = models.BooleanField(
        default=False, help_text="Created for a cookie session of the assistant chat."
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.email or self.public_id

    @property
    def role(self) -> str:
        """The movie platform's user role: "admin" for staff, else "user"."""
        return "admin" if self.is_staff else "user"


def new_family_id() -> str:
    return secrets.token_hex(16)


class RevokeReason(models.TextChoices):
    REUSE = "reuse", "A rotated-out refresh token came back"
    LOGOUT = "logout", "Logged out"


class TokenFamily(models.Model):
    """One login's chain of refresh tokens (OAuth 2.1 refresh-token rotation): each refresh
    replaces `current_jti`; any older token of the chain coming back revokes the chain."""

    id = models.CharField(primary_key=True, max_length=32, default=new_family_id, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="token_families")
    current_jti = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(help_text="When the family's newest refresh token expires.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=16, choices=RevokeReason.choices, blank=True)

    class Meta:
        verbose_name_plural = "token families"
        indexes = [models.Index(fields=["user", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.user} ({self.id})"
