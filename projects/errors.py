"""Errors of the projects domain."""

from core.errors import AccessDenied, ConflictError, DomainError, ErrorCode, NotFoundError


class ProjectNotFound(NotFoundError):
    """No project has this id (or the caller cannot know it: see selectors)."""


class ProjectAccessDenied(AccessDenied):
    """The project exists, but the caller is not a member, or only a viewer and wants to write."""


class ProjectLimitReached(DomainError):
    """The caller's tier allows no more projects."""

    code = ErrorCode.SUBSCRIPTION_LIMIT


class DuplicateProjectTitle(ConflictError):
    """The owner already has a project with this title (case-insensitive)."""


class DuplicateInvitation(ConflictError):
    """A pending invitation for this e-mail exists on the project."""


class InvitationNotFound(NotFoundError):
    pass


class InvitationClosed(ConflictError):
    """The invitation was accepted, revoked or has expired."""
