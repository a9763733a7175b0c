from django.urls import path

from chats import apis, prompt_apis

urlpatterns = [
    path("ping", apis.PingApi.as_view(), name="ping"),
    path("health", apis.HealthApi.as_view(), name="health"),
    path("chats", apis.ChatListApi.as_view(), name="chat-list"),
    # str, not uuid: a malformed id reaches the view and answers "Chat not found".
    path("chats/<str:chat_id>", apis.ChatDetailApi.as_view(), name="chat-detail"),
    path("chats/<str:chat_id>/messages", apis.ChatMessagesApi.as_view(), name="chat-messages"),
    path("chats/<str:chat_id>/stream", apis.ChatStreamApi.as_view(), name="chat-stream"),
    path("chats/<str:chat_id>/state", apis.ChatStateApi.as_view(), name="chat-state"),
    path(
        "chats/<str:chat_id>/messages/<str:message_id>/prompt",
        prompt_apis.ChatMessagePromptApi.as_view(),
        name="chat-message-prompt",
    ),
    path(
        "chats/<str:chat_id>/messages/<str:message_id>/activate",
        apis.MessageActivateApi.as_view(),
        name="chat-message-activate",
    ),
]
