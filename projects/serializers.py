"""Input and output shapes of the projects routes (seed 003, camelCase)."""

from __future__ import annotations

import json

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.api.fields import StrictCharField, StrictIntegerField
from config.api.pagination import PaginationOutput
from core.times import iso_utc
from projects import workflow
from projects.models import CollaboratorRole, ProjectStatus
from projects.related import media_items, session_items
from projects.selectors import DEFAULT_SORT, SORT_FIELDS

TITLE_MAX = 200
DESCRIPTION_MAX = 5000
GENRE_MAX = 64
AUDIENCE_MAX = 32
EPISODES_MIN, EPISODES_MAX = 1, 50
SETTINGS_MAX_CHARS = 16 * 1024


class ProjectSettingsField(serializers.JSONField):
    """A JSON object of free-form settings (aspectRatio, episodeDuration, …), at most 16 KiB."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        if len(json.dumps(data)) > SETTINGS_MAX_CHARS:
            raise serializers.ValidationError(
                f"Must be at most {SETTINGS_MAX_CHARS} characters as JSON."
            )
        return data


class ProjectInput(serializers.Serializer):
    """Create (title required) and, with partial=True, update a project."""

    title = StrictCharField(max_length=TITLE_MAX)
    description = StrictCharField(max_length=DESCRIPTION_MAX, required=False, allow_blank=True)
    genre = StrictCharField(max_length=GENRE_MAX, required=False, allow_blank=True)
    episodeCount = StrictIntegerField(
        required=False,
        min_value=EPISODES_MIN,
        max_value=EPISODES_MAX,
        error_messages={
            "min_value": f"Episode count must be between {EPISODES_MIN} and {EPISODES_MAX}",
            "max_value": f"Episode count must be between {EPISODES_MIN} and {EPISODES_MAX}",
        },
    )
    targetAudience = StrictCharField(max_length=AUDIENCE_MAX, required=False, allow_blank=True)
    projectSettings = ProjectSettingsField(required=False)


class ProjectUpdateInput(ProjectInput):
    status = serializers.ChoiceField(choices=ProjectStatus.values, required=False)


class ProjectListQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=ProjectStatus.values, required=False)
    genre = serializers.CharField(max_length=GENRE_MAX, required=False, allow_blank=True)
    search = serializers.CharField(max_length=200, required=False, allow_blank=True)
    sort = serializers.ChoiceField(choices=list(SORT_FIELDS), required=False, default=DEFAULT_SORT)
    order = serializers.ChoiceField(choices=["asc", "desc"], required=False, default="desc")
    # page and limit are read by MoviePagination; declared here for the schema.
    page = serializers.IntegerField(required=False, min_value=1)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100)


class InviteInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=CollaboratorRole.choices)


# --- Output -----------------------------------------------------------------------------------


class ProgressSummary(serializers.Serializer):
    percentage = serializers.IntegerField()
    currentPhase = serializers.CharField()
    completedSteps = serializers.IntegerField()
    totalSteps = serializers.IntegerField()


class WorkflowStepOutput(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    order = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["completed", "current", "pending"])


class ProgressDetail(serializers.Serializer):
    percentage = serializers.IntegerField()
    currentPhase = serializers.CharField()
    completedSteps = serializers.ListField(child=serializers.CharField())
    nextSteps = serializers.ListField(child=serializers.CharField())
    totalSteps = serializers.IntegerField()
    workflowSteps = WorkflowStepOutput(many=True)


class _ProjectBase(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    genre = serializers.CharField()
    episodeCount = serializers.IntegerField(source="episode_count")
    targetAudience = serializers.CharField(source="target_audience")
    status = serializers.CharField()
    createdBy = serializers.CharField(source="owner.public_id")
    role = serializers.SerializerMethodField()
    createdAt = serializers.SerializerMethodField()
    updatedAt = serializers.SerializerMethodField()
    projectSettings = serializers.JSONField(source="project_settings")

    @extend_schema_field(
        {"type": "string", "enum": ["owner", "collaborator", "viewer"], "title": "ProjectRole"}
    )
    def get_role(self, project) -> str | None:
        role = getattr(project, "caller_role", None)
        return role if role is not None else self.context.get("role")

    def get_createdAt(self, project) -> str:
        return iso_utc(project.created_at)

    def get_updatedAt(self, project) -> str:
        return iso_utc(project.updated_at)


class ProjectListItem(_ProjectBase):
    """An item of GET /api/v1/projects."""

    progress = serializers.SerializerMethodField()
    mediaCount = serializers.IntegerField(source="media_count", default=0)
    activeSessionsCount = serializers.IntegerField(source="active_sessions_count", default=0)

    @extend_schema_field(ProgressSummary)
    def get_progress(self, project) -> dict:
        progress = workflow.progress(project)
        return {
            "percentage": progress.percentage,
            "currentPhase": progress.current_phase,
            "completedSteps": len(progress.completed_steps),
            "totalSteps": progress.total_steps,
        }


class CollaboratorOutput(serializers.Serializer):
    userId = serializers.CharField(source="user.public_id")
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.name")
    role = serializers.CharField()
    addedAt = serializers.SerializerMethodField()

    def get_addedAt(self, collaborator) -> str:
        return iso_utc(collaborator.added_at)


class ProjectMediaOutput(serializers.Serializer):
    id = serializers.CharField()
    filename = serializers.CharField()
    mediaType = serializers.CharField()
    uploadedAt = serializers.DateTimeField()


class ProjectSessionOutput(serializers.Serializer):
    id = serializers.CharField()
    userId = serializers.CharField(allow_null=True)
    currentStep = serializers.CharField()
    lastActivity = serializers.DateTimeField(allow_null=True)


class ProjectDetail(_ProjectBase):
    """GET/PUT /api/v1/projects/{id} and the created project of POST."""

    progress = serializers.SerializerMethodField()
    collaborators = CollaboratorOutput(many=True, source="collaborators.all")
    media = serializers.SerializerMethodField()
    activeSessions = serializers.SerializerMethodField()
    mediaCount = serializers.IntegerField(source="media_count", default=0)
    activeSessionsCount = serializers.IntegerField(source="active_sessions_count", default=0)

    @extend_schema_field(ProgressDetail)
    def get_progress(self, project) -> dict:
        progress = workflow.progress(project)
        return {
            "percentage": progress.percentage,
            "currentPhase": progress.current_phase,
            "completedSteps": progress.completed_steps,
            "nextSteps": progress.next_steps,
            "totalSteps": progress.total_steps,
            "workflowSteps": workflow.workflow_steps(project),
        }

    @extend_schema_field(ProjectMediaOutput(many=True))
    def get_media(self, project) -> list[dict]:
        return [
            {**item, "uploadedAt": iso_utc(item["uploadedAt"])} for item in media_items(project)
        ]

    @extend_schema_field(ProjectSessionOutput(many=True))
    def get_activeSessions(self, project) -> list[dict]:
        return [
            {**item, "lastActivity": iso_utc(item["lastActivity"])}
            for item in session_items(project)
        ]


class InvitationOutput(serializers.Serializer):
    id = serializers.CharField()
    projectId = serializers.CharField(source="project_id")
    email = serializers.EmailField()
    role = serializers.CharField()
    status = serializers.CharField(source="effective_status")
    sentAt = serializers.SerializerMethodField()
    expiresAt = serializers.SerializerMethodField()

    def get_sentAt(self, invitation) -> str:
        return iso_utc(invitation.sent_at)

    def get_expiresAt(self, invitation) -> str:
        return iso_utc(invitation.expires_at)


class ReceivedInvitationOutput(InvitationOutput):
    projectTitle = serializers.CharField(source="project.title")
    invitedBy = serializers.CharField(source="invited_by.public_id", default=None)


# Envelopes of each answer, for the OpenAPI schema ("success" is added by the renderer).
class ProjectListOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    projects = ProjectListItem(many=True)
    pagination = PaginationOutput()


class ProjectOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    project = ProjectDetail()


class InvitationEnvelope(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    invitation = InvitationOutput()


class InvitationListOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    invitations = ReceivedInvitationOutput(many=True)
    pagination = PaginationOutput()


class InvitationAcceptOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    invitation = InvitationOutput()
    project = ProjectDetail()
