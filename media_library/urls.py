"""Family M's media routes, under /api/v1/."""

from django.urls import path

from media_library import apis

urlpatterns = [
    path("media", apis.MediaListApi.as_view(), name="media-list"),
    path("media/upload", apis.MediaUploadApi.as_view(), name="media-upload"),
    path("media/search", apis.MediaSearchApi.as_view(), name="media-search"),
    path("media/<str:media_id>", apis.MediaDetailApi.as_view(), name="media-detail"),
    path(
        "media/<str:media_id>/reanalyze", apis.MediaReanalyseApi.as_view(), name="media-reanalyze"
    ),
    path("media/<str:media_id>/download", apis.MediaDownloadApi.as_view(), name="media-download"),
    path(
        "media/<str:media_id>/thumbnail", apis.MediaThumbnailApi.as_view(), name="media-thumbnail"
    ),
]
