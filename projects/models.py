"""Movie projects (family M), their collaborators and the invitations that add them.

Ids are strings in the seed's style (`project-…`, `invite-…`) made of 64 random bits, so an
id never tells how many projects exist and cannot be guessed.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

INVITATION_LIFETIME = timedelta(days=7)


def new_project_id() -> str:
    return f"project-{secrets.token_hex(8)}"


def new_invitation_id() -> str:
    return f"invite-{secrets.token_hex(8)}"


def invitation_expiry():
    return timezone.now() + INVITATION_LIFETIME


class ProjectStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    ON_HOLD = "on-hold", "On hold"
    ARCHIVED = "archived", "Archived"


class CollaboratorRole(models.TextChoices):
    COLLABORATOR = "collaborator", "Collaborator"
    VIEWER = "viewer", "Viewer"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class Project(models.Model):
    """A movie project: owned by one user, shared with collaborators, walked through the
    fixed workflow of `projects.workflow`."""

    id = models.CharField(primary_key=True, max_length=40, default=new_project_id, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owned_projects"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    genre = models.CharField(max_length=64, blank=True, default="")
    episode_count = models.PositiveSmallIntegerField(default=1)
    target_audience = models.CharField(max_length=32, blank=True, default="")
    status = models.CharField(
        max_length=16, choices=ProjectStatus.choices, default=ProjectStatus.ACTIVE
    )
    project_settings = models.JSONField(default=dict, blank=True)
    # Workflow state: the step being worked on ("" before the first) and the steps done, in
    # the order they were completed. Names come from projects.workflow.WORKFLOW_STEPS.
    current_step = models.CharField(max_length=64, blank=True, default="")
    completed_steps = models.JSONField(default=list, blank=True)
    # len(completed_steps), kept beside it so lists can sort by progress in the database.
    completed_count = models.PositiveSmallIntegerField(default=0, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One title per owner, whatever its case: "Heist" and "heist" collide (409).
            models.UniqueConstraint(
                Lower("title"), "owner", name="project_title_unique_per_owner_ci"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.id})"


class Collaborator(models.Model):
    """A user the owner shared the project with: collaborators write, viewers only read."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="collaborators")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collaborations"
    )
    role = models.CharField(max_length=16, choices=CollaboratorRole.choices)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="collaborator_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.role} on {self.project_id}"


class Invitation(models.Model):
    """An invitation by e-mail; the invited user accepts it with their own token before it
    expires (7 days), and only then becomes a collaborator."""

    id = models.CharField(
        primary_key=True, max_length=40, default=new_invitation_id, editable=False
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=CollaboratorRole.choices)
    status = models.CharField(
        max_length=16, choices=InvitationStatus.choices, default=InvitationStatus.PENDING
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations_sent",
    )
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            # At most one pending invitation per project and address (409 on a second).
            models.UniqueConstraint(
                Lower("email"),
                "project",
                condition=models.Q(status="pending"),
                name="invitation_one_pending_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.project_id} ({self.status})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def effective_status(self) -> str:
        """The status a client sees: a pending invitation past its expiry is expired."""
        if self.status == InvitationStatus.PENDING and self.is_expired:
            return InvitationStatus.EXPIRED
        return self.status
