"""Readers of projects, and the membership rule every M resource of a project follows.

Membership: the owner and the collaborators read a project; the owner and collaborators of
role `collaborator` write; viewers only read. A project id nobody has is 404 NOT_FOUND; an
existing project the caller is not a member of is 403 ACCESS_DENIED (ids are 64 random bits,
so answering 403 reveals nothing guessable and tells a client which mistake it made), and a
viewer's write is 403 too.
"""

from __future__ import annotations

from typing import Literal

from django.db.models import (
    Case,
    CharField,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from projects.errors import ProjectAccessDenied, ProjectNotFound
from projects.models import (
    Collaborator,
    CollaboratorRole,
    Invitation,
    InvitationStatus,
    Project,
)
from projects.related import with_related_counts, with_related_items

Role = Literal["owner", "collaborator", "viewer"]
WRITE_ROLES: frozenset[str] = frozenset({"owner", CollaboratorRole.COLLABORATOR})


def _user_id(user) -> int | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.pk


def project_role(user, project: Project) -> Role | None:
    """The caller's role on `project`: "owner", "collaborator", "viewer" or None.

    Uses `project._prefetched_objects_cache` when the collaborators are prefetched, so a
    detail view pays no extra query.
    """
    user_id = _user_id(user)
    if user_id is None:
        return None
    if project.owner_id == user_id:
        return "owner"
    prefetched = getattr(project, "_prefetched_objects_cache", {}).get("collaborators")
    if prefetched is not None:
        role = next((c.role for c in prefetched if c.user_id == user_id), None)
    else:
        role = (
            Collaborator.objects.filter(project=project, user_id=user_id)
            .values_list("role", flat=True)
            .first()
        )
    return role


def project_can_write(role: str | None) -> bool:
    return role in WRITE_ROLES


def project_check_access(user, project: Project, *, write: bool = False) -> Role:
    """The caller's role; raise ProjectAccessDenied for a non-member or a viewer's write."""
    role = project_role(user, project)
    if role is None:
        raise ProjectAccessDenied("You are not a member of this project")
    if write and not project_can_write(role):
        raise ProjectAccessDenied("Viewers cannot change this project")
    return role


def project_get_for(user, project_id: str, *, write: bool = False, queryset=None) -> Project:
    """The project `project_id` if `user` may read it (or write it, with `write=True`).

    Raises ProjectNotFound for an unknown id and ProjectAccessDenied as the module says.
    `queryset` lets a caller add select_related/prefetch_related.
    """
    qs = queryset if queryset is not None else Project.objects.all()
    project = qs.filter(pk=str(project_id)).first() if project_id else None
    if project is None:
        raise ProjectNotFound(f"Project {project_id} not found")
    project.caller_role = project_check_access(user, project, write=write)
    return project


def projects_readable_by(user) -> QuerySet[Project]:
    """Every project `user` owns or collaborates on (any role)."""
    user_id = _user_id(user)
    if user_id is None:
        return Project.objects.none()
    member = Collaborator.objects.filter(project=OuterRef("pk"), user_id=user_id)
    return Project.objects.filter(Q(owner_id=user_id) | Exists(member))


def projects_writable_by(user) -> QuerySet[Project]:
    """Every project `user` owns or collaborates on with role `collaborator`."""
    user_id = _user_id(user)
    if user_id is None:
        return Project.objects.none()
    member = Collaborator.objects.filter(
        project=OuterRef("pk"), user_id=user_id, role=CollaboratorRole.COLLABORATOR
    )
    return Project.objects.filter(Q(owner_id=user_id) | Exists(member))


def projects_owned_count(user) -> int:
    return Project.objects.filter(owner_id=_user_id(user)).count()


def invitation_get(invitation_id: str) -> Invitation | None:
    return Invitation.objects.select_related("project").filter(pk=str(invitation_id)).first()


# --- Lists and details ------------------------------------------------------------------------

SORT_FIELDS = {
    "title": "title",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "progress": "completed_count",
}
DEFAULT_SORT = "created_at"


def _with_caller_role(queryset: QuerySet[Project], user) -> QuerySet[Project]:
    """Annotate `caller_role`: "owner", or the caller's collaborator role."""
    collaborator_role = Collaborator.objects.filter(
        project=OuterRef("pk"), user_id=_user_id(user)
    ).values("role")[:1]
    return queryset.annotate(
        caller_role=Case(
            When(owner_id=_user_id(user), then=Value("owner")),
            default=Subquery(collaborator_role),
            output_field=CharField(),
        )
    )


def project_list(
    *,
    user,
    status: str | None = None,
    genre: str | None = None,
    search: str | None = None,
    sort: str | None = None,
    order: str | None = None,
) -> QuerySet[Project]:
    """The projects `user` may read, filtered and ordered, with their counts and the caller's
    role annotated (one query per page, plus the count)."""
    qs = projects_readable_by(user)
    if status:
        qs = qs.filter(status=status)
    if genre:
        qs = qs.filter(genre__iexact=genre.strip())
    if search and search.strip():
        term = search.strip()
        qs = qs.filter(Q(title__icontains=term) | Q(description__icontains=term))
    field = SORT_FIELDS[sort or DEFAULT_SORT]
    prefix = "" if order == "asc" else "-"
    qs = qs.select_related("owner").order_by(f"{prefix}{field}", f"{prefix}pk")
    return with_related_counts(_with_caller_role(qs, user))


def project_detail_for(user, project_id: str, *, write: bool = False) -> Project:
    """One project with everything its detail shows (owner, collaborators and their users,
    media, active sessions, counts); access as `project_get_for`."""
    qs = with_related_items(
        with_related_counts(
            Project.objects.select_related("owner").prefetch_related(
                Prefetch("collaborators", queryset=Collaborator.objects.select_related("user"))
            )
        )
    )
    return project_get_for(user, project_id, write=write, queryset=qs)


def invitations_for(user) -> QuerySet[Invitation]:
    """Pending, unexpired invitations addressed to `user`'s e-mail, newest first."""
    if _user_id(user) is None or not user.email:
        return Invitation.objects.none()
    return (
        Invitation.objects.filter(
            email__iexact=user.email,
            status=InvitationStatus.PENDING,
            expires_at__gt=timezone.now(),
        )
        .select_related("project", "invited_by")
        .order_by("-sent_at", "pk")
    )
