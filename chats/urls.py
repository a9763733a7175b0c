from django.urls import path

from chats import apis

urlpatterns = [
    path("ping", apis.PingApi.as_view(), name="ping"),
    path("health", apis.HealthApi.as_view(), name="health"),
]
