"""Readers of projects, and the membership rule every M resource of a project follows.

Membership: the owner and the collaborators read a project; the owner and collaborators of
role `collaborator` write; viewers only read. A project id nobody has is 404 NOT_FOUND; an
existing project the caller is not a member of is 403 ACCESS_DENIED (ids are 64 random bits,
so answering 403 reveals nothing guessable and tells a client which mistake it made), and a
viewer's write is 403 too.
"""

from __future__ import annotations

from typing import Literal

from django.db.models import Exists, OuterRef, Q, QuerySet

from projects.errors import ProjectAccessDenied, ProjectNotFound
from projects.models import Collaborator, CollaboratorRole, Invitation, Project

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
    project_check_access(user, project, write=write)
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
