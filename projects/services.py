"""Writers of projects, collaborators and invitations."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from core.errors import ValidationFailed
from projects.errors import (
    DuplicateInvitation,
    DuplicateProjectTitle,
    InvitationClosed,
    InvitationNotFound,
    ProjectAccessDenied,
    ProjectLimitReached,
)
from projects.models import (
    INVITATION_LIFETIME,
    Collaborator,
    CollaboratorRole,
    Invitation,
    InvitationStatus,
    Project,
)

# API field name -> model field name, for the fields a client may set.
PROJECT_FIELDS = {
    "title": "title",
    "description": "description",
    "genre": "genre",
    "episodeCount": "episode_count",
    "targetAudience": "target_audience",
    "status": "status",
    "projectSettings": "project_settings",
}


def project_limit(user) -> int | None:
    """Projects `user` may own; None is unlimited (MOVIE_PROJECT_LIMITS by tier)."""
    limits = settings.MOVIE_PROJECT_LIMITS
    return limits.get(getattr(user, "tier", "free"), limits.get("free"))


def _title_taken(owner_id: int, title: str, exclude_id: str | None = None) -> bool:
    qs = Project.objects.filter(owner_id=owner_id, title__iexact=title)
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return qs.exists()


def _duplicate_title(title: str) -> DuplicateProjectTitle:
    return DuplicateProjectTitle(
        f"You already have a project titled {title!r}",
        details=[{"field": "title", "message": "A project with this title already exists."}],
    )


def project_create(*, owner: User, data: dict) -> Project:
    """Create a project of `owner` from validated API fields.

    The tier's project limit (free: 3) is checked under a lock on the owner's row, so two
    creates at once cannot pass it together; a title the owner already uses, in any case, is a
    409, enforced by a unique index as well, so a race ends in 409 too.
    """
    values = {PROJECT_FIELDS[k]: v for k, v in data.items() if k in PROJECT_FIELDS}
    values.pop("status", None)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=owner.pk).first()
        limit = project_limit(owner)
        if limit is not None and Project.objects.filter(owner=owner).count() >= limit:
            raise ProjectLimitReached(
                f"Your {owner.tier} plan allows {limit} projects; upgrade to create more",
            )
        if _title_taken(owner.pk, values["title"]):
            raise _duplicate_title(values["title"])
        try:
            with transaction.atomic():
                return Project.objects.create(owner=owner, **values)
        except IntegrityError as exc:
            raise _duplicate_title(values["title"]) from exc


def project_update(*, project: Project, data: dict) -> Project:
    """Change the given fields of `project` (a partial update); a taken title is a 409.

    `projectSettings`, when given, replaces the stored settings as a whole.
    """
    values = {PROJECT_FIELDS[k]: v for k, v in data.items() if k in PROJECT_FIELDS}
    if not values:
        return project
    title = values.get("title")
    if title is not None and _title_taken(project.owner_id, title, exclude_id=project.pk):
        raise _duplicate_title(title)
    for field, value in values.items():
        setattr(project, field, value)
    try:
        with transaction.atomic():
            project.save(update_fields=[*values, "updated_at"])
    except IntegrityError as exc:
        raise _duplicate_title(title or project.title) from exc
    return project


def collaborator_invite(*, project: Project, inviter: User, email: str, role: str) -> Invitation:
    """Invite `email` to `project` with `role`; only the owner invites.

    The invitation is pending for 7 days, until the invited user accepts it. A pending
    invitation for the same address (any case) is a 409, and so is inviting a member; one
    that has expired is marked expired and replaced.
    """
    if project.owner_id != inviter.pk:
        raise ProjectAccessDenied("Only the project's owner can invite collaborators")
    email = email.strip().lower()
    if project.owner.email and project.owner.email.lower() == email:
        raise ValidationFailed(
            "The owner cannot be invited to their own project",
            details=[{"field": "email", "message": "This is the owner's address."}],
        )
    if Collaborator.objects.filter(project=project, user__email__iexact=email).exists():
        raise DuplicateInvitation(
            f"{email} is already a member of this project",
            details=[{"field": "email", "message": "Already a member."}],
        )
    with transaction.atomic():
        pending = Invitation.objects.select_for_update().filter(
            project=project, email__iexact=email, status=InvitationStatus.PENDING
        )
        for invitation in pending:
            if not invitation.is_expired:
                raise DuplicateInvitation(
                    f"{email} already has a pending invitation to this project",
                    details=[{"field": "email", "message": "An invitation is already pending."}],
                )
            invitation.status = InvitationStatus.EXPIRED
            invitation.save(update_fields=["status"])
        try:
            with transaction.atomic():
                now = timezone.now()
                return Invitation.objects.create(
                    project=project,
                    email=email,
                    role=role,
                    invited_by=inviter,
                    sent_at=now,
                    expires_at=now + INVITATION_LIFETIME,
                )
        except IntegrityError as exc:
            raise DuplicateInvitation(
                f"{email} already has a pending invitation to this project"
            ) from exc


def invitation_accept(*, invitation_id: str, user: User) -> Invitation:
    """Accept an invitation addressed to `user`'s e-mail: `user` becomes a member with the
    invitation's role (a member already keeps the stronger of the two roles).

    Unknown id: 404; another address: 403; expired, revoked or already used: 409.
    """
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("project")
            .filter(pk=str(invitation_id))
            .first()
        )
        if invitation is None:
            raise InvitationNotFound(f"Invitation {invitation_id} not found")
        if not user.email or user.email.lower() != invitation.email.lower():
            raise ProjectAccessDenied("This invitation was sent to another e-mail address")
        state = invitation.effective_status
        if state != InvitationStatus.PENDING:
            if invitation.status != state:
                # Kept: the expiry is a fact, whatever this request's answer.
                invitation.status = state
                invitation.save(update_fields=["status"])
        elif invitation.project.owner_id != user.pk:
            member, created = Collaborator.objects.get_or_create(
                project=invitation.project, user=user, defaults={"role": invitation.role}
            )
            if not created and invitation.role == CollaboratorRole.COLLABORATOR:
                member.role = CollaboratorRole.COLLABORATOR
                member.save(update_fields=["role"])
        if state == InvitationStatus.PENDING:
            invitation.status = InvitationStatus.ACCEPTED
            invitation.accepted_at = timezone.now()
            invitation.save(update_fields=["status", "accepted_at"])
    if state != InvitationStatus.PENDING:
        raise InvitationClosed(f"This invitation is {state}")
    return invitation
