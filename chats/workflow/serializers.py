"""Input and output of the workflow chat routes (family M, `/api/v1/chat/*`).

Outputs are declared serializers over the domain's objects, the same ones the OpenAPI schema
shows; `"success": true` is added by M's renderer.
"""

from __future__ import annotations

from rest_framework import serializers

from chats.models import MessageRole, SessionStatus
from chats.workflow import selectors as workflow_selectors
from chats.workflow.records import sender_of
from chats.workflow.services import MAX_ATTACHMENTS
from config.api.pagination import PaginationOutput
from projects import workflow


class WorkflowMessageInput(serializers.Serializer):
    projectId = serializers.CharField(max_length=64)
    sessionId = serializers.CharField(max_length=64, required=False, allow_null=True)
    # Not trimmed: what the member wrote is stored as written; blank is refused.
    message = serializers.CharField(trim_whitespace=False)
    attachments = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        max_length=MAX_ATTACHMENTS,
        help_text="Media ids of the same project",
    )

    def validate_message(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("This field may not be blank.")
        return value


class ChoiceInput(serializers.Serializer):
    sessionId = serializers.CharField(max_length=64)
    choiceId = serializers.CharField(max_length=64)
    customInput = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        trim_whitespace=False,
        help_text="Replaces the choice's text in what is stored and sent to the model",
    )


class SessionListQuery(serializers.Serializer):
    projectId = serializers.CharField(max_length=64, required=False)
    status = serializers.ChoiceField(choices=SessionStatus.values, required=False)


class ChatUploadInput(serializers.Serializer):
    projectId = serializers.CharField(max_length=64)
    sessionId = serializers.CharField(max_length=64)
    file = serializers.FileField(help_text="One file (image, video, audio or document)")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    mediaType = serializers.CharField(required=False, allow_blank=True, default="")


# --- outputs -----------------------------------------------------------------------------------


class ChoiceOutput(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    metadata = serializers.DictField()


class AiResponseOutput(serializers.Serializer):
    messageId = serializers.CharField(source="client_id", help_text="The reply's message id")
    content = serializers.CharField()
    choices = ChoiceOutput(many=True)
    nextStep = serializers.CharField(source="next_step")


class TurnSessionOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    currentStep = serializers.CharField(source="current_step")
    progress = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()

    def get_progress(self, session) -> int:
        return workflow.progress(session.project).percentage

    def get_status(self, session) -> str:
        return workflow_selectors.session_status(session)


class WorkflowMessageOutput(serializers.Serializer):
    messageId = serializers.CharField(
        source="user_message.client_id", help_text="The id of the member's stored line"
    )
    aiResponse = AiResponseOutput(source="reply")
    session = TurnSessionOutput()


class ProgressUpdateOutput(serializers.Serializer):
    percentage = serializers.IntegerField()
    completedSteps = serializers.ListField(child=serializers.CharField(), source="completed_steps")
    nextSteps = serializers.ListField(child=serializers.CharField(), source="next_steps")


class ChoiceResultOutput(serializers.Serializer):
    workflowAdvanced = serializers.BooleanField(source="hooks.advanced")
    newStep = serializers.CharField(source="session.current_step")
    stepCompleted = serializers.CharField(source="hooks.step_completed", allow_null=True)
    progressUpdate = ProgressUpdateOutput(source="progress")
    aiResponse = AiResponseOutput(source="reply")
    messageId = serializers.CharField(
        source="user_message.client_id", help_text="The id of the stored choice line"
    )


class SenderOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    role = serializers.CharField()


class WorkflowHistoryItemOutput(serializers.Serializer):
    """A stored line: a member's carries `attachments` and `sender`; the AI's carries
    `choices` and `metadata` (processingTime, nextStep, chosenChoiceId)."""

    id = serializers.CharField(source="client_id")
    role = serializers.CharField()
    content = serializers.CharField()
    timestamp = serializers.DateTimeField(source="created_at")
    attachments = serializers.ListField(child=serializers.CharField(), required=False)
    sender = SenderOutput(required=False, allow_null=True)
    choices = ChoiceOutput(many=True, required=False)
    metadata = serializers.DictField(required=False)

    def to_representation(self, message):
        base = {
            "id": message.client_id,
            "role": message.role,
            "content": message.content,
            "timestamp": self.fields["timestamp"].to_representation(message.created_at),
        }
        if message.role == MessageRole.ASSISTANT:
            metadata = dict(message.metadata or {})
            metadata["nextStep"] = message.next_step or None
            metadata["chosenChoiceId"] = message.chosen_choice_id or None
            return {**base, "choices": list(message.choices or []), "metadata": metadata}
        return {
            **base,
            "attachments": list(message.attachments or []),
            "sender": sender_of(message.author),
        }


class SessionDetailOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    projectId = serializers.CharField(source="project_id")
    userId = serializers.CharField(source="owner.public_id")
    currentStep = serializers.CharField(source="current_step")
    status = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    lastActivity = serializers.DateTimeField(source="last_activity")
    conversationHistory = WorkflowHistoryItemOutput(source="history", many=True)
    contextData = serializers.DictField(source="context_data")

    def get_status(self, session) -> str:
        return workflow_selectors.session_status(session)


class SessionDetailEnvelope(serializers.Serializer):
    session = SessionDetailOutput()


class SessionListItemOutput(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    projectId = serializers.CharField(source="project_id")
    projectTitle = serializers.CharField(source="project.title")
    userId = serializers.CharField(source="owner.public_id")
    currentStep = serializers.CharField(source="current_step")
    status = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    lastActivity = serializers.DateTimeField(source="last_activity")
    messageCount = serializers.IntegerField(source="message_count")

    def get_status(self, session) -> str:
        return workflow_selectors.session_status(session)

    def get_progress(self, session) -> int:
        return workflow.progress(session.project).percentage


class SessionListOutput(serializers.Serializer):
    sessions = SessionListItemOutput(many=True)
    pagination = PaginationOutput()


class AiAnalysisOutput(serializers.Serializer):
    description = serializers.CharField(allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField())
    styleElements = serializers.ListField(child=serializers.CharField())
    suitableFor = serializers.ListField(child=serializers.CharField())


class EmbeddingStatusOutput(serializers.Serializer):
    status = serializers.CharField()
    estimatedCompletion = serializers.CharField(allow_null=True)


class ChatUploadOutput(serializers.Serializer):
    mediaId = serializers.CharField()
    filename = serializers.CharField()
    mediaType = serializers.CharField()
    processingStatus = serializers.CharField()
    aiAnalysis = AiAnalysisOutput()
    embedding = EmbeddingStatusOutput()
