"""Family M's workflow chat routes, under /api/v1/chat/."""

from django.urls import path

from chats.workflow import apis as workflow_apis

urlpatterns = [
    path("message", workflow_apis.ChatMessageApi.as_view(), name="movie-chat-message"),
    path("choice", workflow_apis.ChatChoiceApi.as_view(), name="movie-chat-choice"),
    path("upload", workflow_apis.ChatUploadApi.as_view(), name="movie-chat-upload"),
    path("sessions", workflow_apis.ChatSessionListApi.as_view(), name="movie-chat-sessions"),
    path(
        "session/<str:session_id>",
        workflow_apis.ChatSessionDetailApi.as_view(),
        name="movie-chat-session",
    ),
]
