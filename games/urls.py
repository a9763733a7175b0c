from django.urls import path

from games import ai_apis, apis

urlpatterns = [
    path("session/start", apis.SessionStartApi.as_view(), name="session-start"),
    path("session/end", apis.SessionEndApi.as_view(), name="session-end"),
    path("session/<str:session_id>", apis.SessionDetailApi.as_view(), name="session-detail"),
    path("games/<str:game_id>", apis.GameDetailApi.as_view(), name="game-detail"),
    path("games/<str:game_id>/title", apis.GameTitleOfGameApi.as_view(), name="game-title"),
    path("game_titles", apis.GameTitleListApi.as_view(), name="game-title-list"),
    path("game_titles/<str:title_id>", apis.GameTitleDetailApi.as_view(), name="game-title-detail"),
    path("progress/<str:session_id>", apis.ProgressApi.as_view(), name="progress"),
    path(
        "progress/<str:session_id>/checkpoints",
        apis.CheckpointCreateApi.as_view(),
        name="progress-checkpoints",
    ),
    path("messages", apis.MessageListCreateApi.as_view(), name="messages"),
    path("history/<str:game_id>", apis.HistoryApi.as_view(), name="history"),
    path("ai/generate-scenario", ai_apis.ScenarioApi.as_view(), name="ai-scenario"),
    path("ai/dialogue", ai_apis.DialogueApi.as_view(), name="ai-dialogue"),
    path("ai/image", ai_apis.ImageApi.as_view(), name="ai-image"),
    path("ai/images/<str:image_id>", ai_apis.ImageFileApi.as_view(), name="ai-image-file"),
    path("ai/diagnostics", ai_apis.AiDiagnosticsApi.as_view(), name="ai-diagnostics"),
]
