"""Family M's media routes: thin views over the media library's services and selectors."""

from __future__ import annotations

import time

from asgiref.sync import async_to_sync
from django.core.files.storage import default_storage
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.authentication import BaseAuthentication
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from accounts.models import User
from ai import client as ai
from config.api.base import MovieApiView
from config.api.params import body_input, query_input
from config.api.schema import MOVIE_ERRORS, MovieError
from core.errors import DomainError, ValidationFailed
from media_library import selectors, services
from media_library.errors import MediaNotFound
from media_library.files import limit_uploads
from media_library.links import read_link, verify_link
from media_library.models import Media, MediaStatus
from media_library.serializers import (
    DeletedOutput,
    MediaDetailEnvelope,
    MediaDetailInput,
    MediaDetailOutput,
    MediaListEnvelope,
    MediaListInput,
    MediaListOutput,
    MediaUpdateInput,
    RejectedOutput,
    SearchEnvelope,
    SearchHitOutput,
    SearchInput,
    UploadEnvelope,
    UploadInput,
    UploadOutput,
    UploadRequestSchema,
)
from projects.selectors import project_get_for

_UPLOAD_ERRORS = {
    413: OpenApiResponse(MovieError, description="FILE_TOO_LARGE: every file over the limit"),
    415: OpenApiResponse(MovieError, description="UNSUPPORTED_FORMAT: no file of an accepted type"),
}
_LINK_ERRORS = {
    403: OpenApiResponse(MovieError, description="Wrong or expired signature"),
    404: OpenApiResponse(MovieError, description="The file no longer exists"),
    429: OpenApiResponse(MovieError, description="RATE_LIMITED: the caller's hourly limit"),
}


class MediaUploadApi(MovieApiView):
    """POST /api/v1/media/upload: multipart `projectId`, `files` (or `file`), `mediaType`,
    `description`, `tags`."""

    parser_classes = [MultiPartParser]

    @extend_schema(
        tags=["media"],
        request={"multipart/form-data": UploadRequestSchema},
        responses={200: UploadEnvelope, **MOVIE_ERRORS, **_UPLOAD_ERRORS},
        summary="Upload files to a project; unacceptable files are listed in `rejected`",
        operation_id="media_upload",
    )
    def post(self, request):
        # Before the body is read: files stream to temporary files, cut at the tier's limit.
        limit_uploads(request, limit=services.upload_limit_for(request.user))
        serializer = UploadInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = project_get_for(request.user, data["projectId"], write=True)
        files = request.FILES.getlist("files") + request.FILES.getlist("file")
        uploads, rejected = services.media_upload(
            user=request.user,
            project=project,
            files=files,
            media_type=data.get("mediaType"),
            description=data.get("description", ""),
            tags=data.get("tags"),
        )
        return Response(
            {
                "uploads": UploadOutput(uploads, many=True).data,
                "rejected": RejectedOutput(rejected, many=True).data,
            }
        )


class MediaListApi(MovieApiView):
    """GET /api/v1/media: the caller's media, filtered, sorted and paginated."""

    @extend_schema(
        tags=["media"],
        parameters=[MediaListInput],
        responses={200: MediaListEnvelope, **MOVIE_ERRORS},
        summary="List the media of the projects you may read",
        operation_id="media_list",
    )
    def get(self, request):
        params = query_input(MediaListInput, request)
        if params.get("projectId"):
            # An unknown project is 404 and another's 403, as everywhere in M; not an empty page.
            project_get_for(request.user, params["projectId"])
        qs = selectors.media_list(
            user=request.user,
            project_id=params.get("projectId"),
            media_type=params.get("mediaType"),
            search=params.get("search"),
            tags=params.get("tags"),
            status=params.get("status"),
            sort=params.get("sort", "upload_date"),
            order=params.get("order", "desc"),
        )
        include_vector = params.get("include") == "vector"
        if not include_vector:
            qs = qs.defer("embedding")
        items, pagination = self.paginate(qs, request)
        context = {"request": request, "include_vector": include_vector}
        return Response(
            {
                "media": MediaListOutput(items, many=True, context=context).data,
                "pagination": pagination,
            }
        )


class MediaDetailApi(MovieApiView):
    """/api/v1/media/{id}: GET one media with its analysis, usage and signed links; PATCH
    what the uploader said about it (or archive it); DELETE it."""

    @extend_schema(
        tags=["media"],
        parameters=[MediaDetailInput],
        responses={200: MediaDetailEnvelope, **MOVIE_ERRORS},
        summary="One media: technical data, AI analysis, embedding, usage, signed links",
        operation_id="media_detail",
    )
    def get(self, request, media_id: str):
        params = query_input(MediaDetailInput, request)
        media = selectors.media_get_for(request.user, media_id)
        context = {
            "request": request,
            "include_vector": params.get("include") == "vector",
            "usage": selectors.media_usage(media),
        }
        return Response({"media": MediaDetailOutput(media, context=context).data})

    @extend_schema(
        tags=["media"],
        request=MediaUpdateInput,
        responses={200: MediaDetailEnvelope, **MOVIE_ERRORS},
        summary="Rename, describe, tag, retype, archive or restore a media (partial)",
        operation_id="media_update",
    )
    def patch(self, request, media_id: str):
        data = body_input(MediaUpdateInput, request)
        media = selectors.media_get_for(request.user, media_id, write=True)
        media = services.media_update(user=request.user, media=media, data=data)
        context = {"request": request, "usage": selectors.media_usage(media)}
        return Response({"media": MediaDetailOutput(media, context=context).data})

    @extend_schema(
        tags=["media"],
        request=None,
        responses={200: DeletedOutput, **MOVIE_ERRORS},
        summary="Delete a media and its files",
        operation_id="media_delete",
    )
    def delete(self, request, media_id: str):
        media = selectors.media_get_for(request.user, media_id, write=True)
        services.media_delete(user=request.user, media=media)
        return Response({"id": media_id, "deleted": True})


class MediaReanalyseApi(MovieApiView):
    """POST /api/v1/media/{id}/reanalyze: queue the analysis again (202)."""

    @extend_schema(
        tags=["media"],
        request=None,
        responses={
            202: MediaDetailEnvelope,
            **MOVIE_ERRORS,
            409: OpenApiResponse(MovieError, description="Being analysed already"),
        },
        summary="Run the analysis again (after a failure)",
        operation_id="media_reanalyze",
    )
    def post(self, request, media_id: str):
        media = selectors.media_get_for(request.user, media_id, write=True)
        media = services.media_reanalyse(user=request.user, media=media)
        context = {"request": request, "usage": selectors.media_usage(media)}
        return Response({"media": MediaDetailOutput(media, context=context).data}, status=202)


class MediaSearchApi(MovieApiView):
    """POST /api/v1/media/search: semantic search over the caller's analysed media."""

    @extend_schema(
        tags=["media"],
        request=SearchInput,
        responses={200: SearchEnvelope, **MOVIE_ERRORS},
        summary="Semantic search: rank your analysed media by similarity to a text query",
        operation_id="media_search",
    )
    def post(self, request):
        data = body_input(SearchInput, request)
        if data.get("projectId"):
            project_get_for(request.user, data["projectId"])
        query = data["query"].strip()
        if not query:
            raise ValidationFailed(
                "query must not be blank", details=[{"field": "query", "message": "Blank"}]
            )
        started = time.monotonic()
        [vector] = async_to_sync(ai.embed)(texts=[query])
        processing_ms = round(1000 * (time.monotonic() - started))
        model = services.embedding_model_name()
        hits = selectors.media_search(
            user=request.user,
            query=query,
            query_vector=services.to_unit_float32(vector),
            model=model,
            project_id=data.get("projectId"),
            media_types=data.get("mediaTypes"),
            limit=data["limit"],
            threshold=data["threshold"],
        )
        return Response(
            {
                "results": SearchHitOutput(hits, many=True, context={"request": request}).data,
                "queryEmbedding": {"model": model, "processingTime": processing_ms},
            }
        )


class SignedLinkAuthentication(BaseAuthentication):
    """The user a signed link was made for, so its requests count against that user's
    tier limit (a grid of thumbnails is not charged to a shared office address). It grants
    nothing: the view checks the link itself. A bad token leaves the caller anonymous."""

    def authenticate(self, request):
        try:
            grant = read_link(request.query_params.get("token", ""))
        except DomainError:
            return None
        if grant.user_id is None:
            return None
        user = User.objects.filter(pk=grant.user_id, is_active=True).first()
        return (user, None) if user is not None else None


class _SignedFileApi(MovieApiView):
    """Serves a media file to whoever holds a valid signed link (no token: an <img> works).

    A wrong or expired signature is 403 ACCESS_DENIED; a media that is gone, or whose file
    the link does not fit (another version, no thumbnail yet), is 404.
    """

    authentication_classes = [SignedLinkAuthentication]
    permission_classes = [AllowAny]
    kind = ""

    def get(self, request, media_id: str):
        return self.serve(request, media_id)

    def serve(self, request, media_id: str):
        grant = verify_link(
            request.query_params.get("token", ""), media_id=media_id, kind=self.kind
        )
        media = Media.objects.filter(pk=media_id).exclude(status=MediaStatus.ARCHIVED).first()
        field = (
            None if media is None else (media.file if self.kind == "download" else media.thumbnail)
        )
        if media is None or media.version != grant.version or not field:
            raise MediaNotFound("This file no longer exists")
        response = self.file_response(media, field)
        # The URL never changes for this file until it expires: caches may keep it that long.
        remaining = max(0, int(grant.expires - time.time()))
        response["Cache-Control"] = f"private, max-age={remaining}"
        return response

    def file_response(self, media, field) -> FileResponse:
        raise NotImplementedError


_TOKEN = OpenApiParameter("token", str, required=True, description="The signed link's token")


class MediaDownloadApi(_SignedFileApi):
    kind = "download"

    @extend_schema(
        tags=["media"],
        auth=[],
        parameters=[_TOKEN],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **_LINK_ERRORS},
        summary="The original file, by signed link (downloadUrl)",
        operation_id="media_download",
    )
    def get(self, request, media_id: str):
        return self.serve(request, media_id)

    def file_response(self, media, field) -> FileResponse:
        response = FileResponse(
            default_storage.open(field.name, "rb"),
            content_type=media.mime_type,
            as_attachment=True,
            filename=media.original_filename,
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response


class MediaThumbnailApi(_SignedFileApi):
    kind = "thumbnail"

    @extend_schema(
        tags=["media"],
        auth=[],
        parameters=[_TOKEN],
        responses={(200, "image/jpeg"): OpenApiTypes.BINARY, **_LINK_ERRORS},
        summary="The thumbnail (JPEG), by signed link (thumbnailUrl)",
        operation_id="media_thumbnail",
    )
    def get(self, request, media_id: str):
        return self.serve(request, media_id)

    def file_response(self, media, field) -> FileResponse:
        response = FileResponse(default_storage.open(field.name, "rb"), content_type="image/jpeg")
        response["Content-Disposition"] = "inline"
        response["X-Content-Type-Options"] = "nosniff"
        return response
