# ruff: noqa: F811  (fixtures imported from tests.media_library.fixtures are test arguments)
"""Contract of family M's media routes (seed 003 "Media API Endpoints", CONTRACTS.md
"Movie platform"): upload with per-file rejections, background analysis and its states,
list and detail, signed links, semantic search, membership."""

from __future__ import annotations

import io
import random
import re
import time
from datetime import datetime

import pytest
from django.db import connection
from PIL import Image
from rest_framework.test import APIClient

from media_library.links import LINK_BUCKET_SECONDS, signed_link
from media_library.models import Media
from media_library.worker import run_pending_tasks
from projects.models import CollaboratorRole, Project
from tests.helpers import json_body, movie_error
from tests.media_library.fixtures import (  # noqa: F401
    client_for,
    collaborator_client,
    media_root,
    member,
    project,
    upload,
    viewer_client,
)
from tests.media_library.images import BLUE, RED, image_bytes, truncated_jpeg, upload_file

pytestmark = pytest.mark.django_db

MEDIA_ID = re.compile(r"^media-[0-9a-f]{16}$")


def upload_one(client, project, name="red.png", data=None, **extra):
    response = upload(
        client,
        projectId=project.pk,
        files=[upload_file(name, data if data is not None else image_bytes(RED))],
        **extra,
    )
    return json_body(response)["uploads"][0]


def analysed(client, project, name, colour, **extra) -> str:
    media_id = upload_one(client, project, name, image_bytes(colour), **extra)["mediaId"]
    run_pending_tasks()
    return media_id


# --- upload -------------------------------------------------------------------------------


def test_upload_keeps_good_files_and_answers_the_seed_fields(auth_client, project):
    response = upload(
        auth_client,
        projectId=project.pk,
        files=[
            upload_file("hero.png", image_bytes(RED)),
            upload_file("sketch.jpg", image_bytes(BLUE, fmt="JPEG")),
        ],
        mediaType="character_design",
        description="Main character design",
        tags='["hero", "urban"]',
    )
    body = json_body(response)
    assert body["success"] is True
    assert body["rejected"] == []
    first, second = body["uploads"]
    assert MEDIA_ID.match(first["mediaId"]) and first["mediaId"] != second["mediaId"]
    assert first == {
        "mediaId": first["mediaId"],
        "filename": "hero.png",
        "size": len(image_bytes(RED)),
        "mimeType": "image/png",
        "mediaType": "character_design",
        "projectId": project.pk,
        "status": "processing",
        "aiAnalysis": {"status": "analyzing", "estimatedCompletion": "30s"},
        "embedding": {"status": "generating", "progress": 0},
    }
    assert second["mimeType"] == "image/jpeg"
    stored = Media.objects.get(pk=first["mediaId"])
    assert stored.tags == ["hero", "urban"] and stored.description == "Main character design"
    assert stored.file.read() == image_bytes(RED)
    assert response["X-Request-ID"] and response["X-RateLimit-Tier"] == "free"


def test_upload_accepts_a_single_file_field_repeated_tags_and_webp_gif(auth_client, project):
    response = upload(
        auth_client,
        projectId=project.pk,
        file=[
            upload_file("a.webp", image_bytes(RED, fmt="WEBP")),
            upload_file("b.gif", image_bytes(BLUE, fmt="GIF")),
        ],
        tags=["night", "rain"],
    )
    uploads = json_body(response)["uploads"]
    assert [u["mimeType"] for u in uploads] == ["image/webp", "image/gif"]
    assert [u["mediaType"] for u in uploads] == ["other", "other"]
    assert Media.objects.get(pk=uploads[0]["mediaId"]).tags == ["night", "rain"]


def test_the_type_is_told_by_content_not_by_name(auth_client, project):
    response = upload(
        auth_client,
        projectId=project.pk,
        files=[
            upload_file("notes.png", b"just some text, not a picture\n" * 10, "image/png"),
            upload_file("photo.txt", image_bytes(RED, fmt="JPEG"), "text/plain"),
        ],
    )
    body = json_body(response)
    assert [u["filename"] for u in body["uploads"]] == ["photo.txt"]
    assert body["uploads"][0]["mimeType"] == "image/jpeg"
    [rejected] = body["rejected"]
    assert rejected["filename"] == "notes.png"
    assert rejected["error"]["code"] == "UNSUPPORTED_FORMAT"


def test_a_file_with_an_image_signature_that_pillow_cannot_read_is_refused(auth_client, project):
    fake_png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
    error = movie_error(
        upload(auth_client, projectId=project.pk, files=[upload_file("x.png", fake_png)]),
        415,
        "UNSUPPORTED_FORMAT",
    )
    assert error["details"][0]["field"] == "files[0]"
    assert not Media.objects.exists()


def test_every_file_of_another_type_is_415(auth_client, project):
    error = movie_error(
        upload(
            auth_client,
            projectId=project.pk,
            files=[upload_file("a.pdf", b"%PDF-1.7\n..."), upload_file("b.svg", b"<svg/>")],
        ),
        415,
        "UNSUPPORTED_FORMAT",
    )
    assert [d["field"] for d in error["details"]] == ["files[0]", "files[1]"]


def test_size_limit_follows_the_tier(auth_client, user, project, settings):
    settings.MEDIA_UPLOAD_MAX_BYTES = {"free": 2000, "pro": 50_000, "enterprise": 10**9}
    big = b"\x89PNG\r\n\x1a\n" + b"0" * 5000
    small = image_bytes(RED)
    assert len(small) < 2000 < len(big) < 50_000
    body = json_body(
        upload(
            auth_client,
            projectId=project.pk,
            files=[upload_file("big.png", big), upload_file("small.png", small)],
        )
    )
    assert [u["filename"] for u in body["uploads"]] == ["small.png"]
    [rejected] = body["rejected"]
    assert rejected["filename"] == "big.png" and rejected["size"] == len(big)
    assert rejected["error"]["code"] == "FILE_TOO_LARGE"
    assert "2000" in rejected["error"]["message"]

    # Every file too large: 413 in M's body.
    error = movie_error(
        upload(auth_client, projectId=project.pk, files=[upload_file("big.png", big)]),
        413,
        "FILE_TOO_LARGE",
    )
    assert error["details"][0]["field"] == "files[0]"

    # A pro user may send it (then it is judged by content: not a readable PNG).
    user.tier = "pro"
    user.save(update_fields=["tier"])
    movie_error(
        upload(auth_client, projectId=project.pk, files=[upload_file("big.png", big)]),
        415,
        "UNSUPPORTED_FORMAT",
    )


def test_an_upload_over_4_mib_reaches_the_view_and_is_kept(auth_client, user, project, settings):
    user.tier = "pro"
    user.save(update_fields=["tier"])
    noise = random.Random(1).randbytes(1300 * 1300 * 3)
    big = io.BytesIO()
    Image.frombytes("RGB", (1300, 1300), noise).save(big, format="PNG")
    assert big.tell() > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = json_body(
        upload(auth_client, projectId=project.pk, files=[upload_file("big.png", big.getvalue())])
    )
    assert body["uploads"][0]["size"] == big.tell()
    run_pending_tasks()
    media = Media.objects.get(pk=body["uploads"][0]["mediaId"])
    assert media.status == "active"
    assert media.technical_data["dimensions"] == {"width": 1300, "height": 1300}


def test_upload_validation_errors_name_the_field(auth_client, project):
    error = movie_error(upload(auth_client, projectId=project.pk), 400, "VALIDATION_ERROR")
    assert error["details"] == [{"field": "files", "message": "At least one file is required"}]
    error = movie_error(
        upload(auth_client, files=[upload_file("a.png", image_bytes())]), 400, "VALIDATION_ERROR"
    )
    assert [d["field"] for d in error["details"]] == ["projectId"]
    error = movie_error(
        upload(
            auth_client,
            projectId=project.pk,
            mediaType="hologram",
            files=[upload_file("a.png", image_bytes())],
        ),
        400,
        "VALIDATION_ERROR",
    )
    assert [d["field"] for d in error["details"]] == ["mediaType"]
    error = movie_error(
        upload(
            auth_client,
            projectId=project.pk,
            tags="[1, 2",
            files=[upload_file("a.png", image_bytes())],
        ),
        400,
        "VALIDATION_ERROR",
    )
    assert [d["field"] for d in error["details"]] == ["tags"]
    # JSON is not a multipart upload.
    movie_error(
        auth_client.post("/api/v1/media/upload", {"projectId": project.pk}),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    )


def test_upload_membership(client, auth_client, other_auth_client, project, viewer_client):
    files = {"files": [upload_file("a.png", image_bytes())]}
    movie_error(upload(client, projectId=project.pk, **files), 401, "AUTH_REQUIRED")
    files = {"files": [upload_file("a.png", image_bytes())]}
    movie_error(upload(other_auth_client, projectId=project.pk, **files), 403, "ACCESS_DENIED")
    files = {"files": [upload_file("a.png", image_bytes())]}
    movie_error(upload(viewer_client, projectId=project.pk, **files), 403, "ACCESS_DENIED")
    files = {"files": [upload_file("a.png", image_bytes())]}
    movie_error(
        upload(auth_client, projectId="project-0000000000000000", **files), 404, "NOT_FOUND"
    )
    assert not Media.objects.exists()


def test_a_collaborator_uploads(collaborator_client, project):
    assert upload_one(collaborator_client, project)["status"] == "processing"


# --- analysis task states -------------------------------------------------------------------


def test_analysis_moves_processing_to_active_with_its_findings(auth_client, project):
    media_id = upload_one(auth_client, project, "red.png", image_bytes(RED, size=(640, 360)))[
        "mediaId"
    ]
    before = json_body(auth_client.get(f"/api/v1/media/{media_id}"))["media"]
    assert before["status"] == "processing"
    assert before["aiAnalysis"]["status"] == "analyzing"
    assert before["embedding"]["status"] == "generating"
    assert before["thumbnailUrl"] is None

    assert run_pending_tasks() == 1
    media = json_body(auth_client.get(f"/api/v1/media/{media_id}"))["media"]
    assert media["status"] == "active" and media["failureReason"] is None
    technical = media["technicalData"]
    assert technical["dimensions"] == {"width": 640, "height": 360}
    assert technical["colorDepth"] == 24 and technical["compression"] == "Deflate"
    assert technical["palette"][0]["name"] == "red"
    assert technical["palette"][0]["hex"] == "#dc141e"
    analysis = media["aiAnalysis"]
    assert analysis["status"] == "complete" and analysis["description"]
    assert "red" in analysis["tags"]
    assert set(analysis["styleAnalysis"]) == {"mood", "lighting", "colorTone"}
    assert media["embedding"]["status"] == "complete"
    assert media["embedding"]["model"] == "offline-hash"
    assert media["embedding"]["dimensions"] == 256
    assert media["embedding"]["generatedAt"].endswith("Z")
    assert "vector" not in media["embedding"]
    assert media["thumbnailUrl"].startswith("http://testserver/api/v1/media/")

    with_vector = json_body(auth_client.get(f"/api/v1/media/{media_id}?include=vector"))
    vector = with_vector["media"]["embedding"]["vector"]
    assert len(vector) == 256 and abs(sum(v * v for v in vector) - 1) < 1e-3


def test_an_image_that_does_not_decode_fails_with_a_reason_and_keeps_its_file(auth_client, project):
    media_id = upload_one(auth_client, project, "broken.jpg", truncated_jpeg())["mediaId"]
    run_pending_tasks()
    media = json_body(auth_client.get(f"/api/v1/media/{media_id}"))["media"]
    assert media["status"] == "failed"
    assert "could not be decoded" in media["failureReason"]
    assert media["aiAnalysis"]["status"] == "failed"
    assert media["embedding"]["status"] == "failed"
    assert Media.objects.get(pk=media_id).file.read() == truncated_jpeg()
    # The file is still there to download.
    download = APIClient().get(media["downloadUrl"])
    assert download.status_code == 200


def test_a_failing_model_fails_the_analysis_and_a_retry_succeeds(auth_client, project, fake_openai):
    media_id = upload_one(auth_client, project)["mediaId"]
    fake_openai.fail(500, route="structured")
    run_pending_tasks()
    media = Media.objects.get(pk=media_id)
    assert media.status == "failed" and media.failure_reason.startswith("AI analysis failed")
    assert media.file.read() == image_bytes(RED)

    fake_openai.queue_structured(
        {
            "description": "A flat red square.",
            "tags": ["square"],
            "detectedObjects": [],
            "styleAnalysis": {"mood": "bold", "lighting": "flat", "colorTone": "warm"},
            "styleElements": ["flat colour"],
            "suitability": ["mood-boarding"],
        }
    )
    body = json_body(auth_client.post(f"/api/v1/media/{media_id}/reanalyze"), 202)
    assert body["media"]["status"] == "processing"
    movie_error(auth_client.post(f"/api/v1/media/{media_id}/reanalyze"), 409, "CONFLICT")
    run_pending_tasks()
    media = json_body(auth_client.get(f"/api/v1/media/{media_id}"))["media"]
    assert media["status"] == "active"
    assert media["aiAnalysis"]["description"] == "A flat red square."
    assert media["aiAnalysis"]["tags"] == ["square", "red"]
    assert media["embedding"]["model"] == "fake-embeddings"
    structured = [r for r in fake_openai.requests if r.body.get("response_format")]
    assert structured[-1].body["response_format"]["json_schema"]["name"] == "media_analysis"
    assert "Dominant colours: red" in structured[-1].body["messages"][1]["content"]


def test_reanalyze_membership(auth_client, project, viewer_client):
    media_id = upload_one(auth_client, project)["mediaId"]
    run_pending_tasks()
    movie_error(viewer_client.post(f"/api/v1/media/{media_id}/reanalyze"), 403, "ACCESS_DENIED")
    movie_error(
        auth_client.post("/api/v1/media/media-0000000000000000/reanalyze"), 404, "NOT_FOUND"
    )


# --- list and detail ------------------------------------------------------------------------


def test_list_filters_sorts_and_paginates(auth_client, project, user):
    other_project = Project.objects.create(owner=user, title="Second")
    red = analysed(
        auth_client,
        project,
        "red-hero.png",
        RED,
        mediaType="character_design",
        tags='["hero"]',
        description="Hero in the rain",
    )
    blue = analysed(auth_client, project, "blue-city.png", BLUE, mediaType="concept_art")
    third = upload_one(auth_client, other_project, "zeta.png", image_bytes(BLUE, size=(300, 300)))
    third = third["mediaId"]

    def ids(query=""):
        body = json_body(auth_client.get(f"/api/v1/media{query}"))
        return [m["id"] for m in body["media"]], body

    listed, body = ids()
    assert listed == [third, blue, red]  # newest first
    assert body["pagination"] == {
        "page": 1,
        "limit": 20,
        "total": 3,
        "totalPages": 1,
        "hasNext": False,
        "hasPrev": False,
    }
    item = next(m for m in body["media"] if m["id"] == red)
    assert item["filename"] == "red-hero.png" and item["displayName"] == "red-hero.png"
    assert item["mediaType"] == "character_design" and item["projectId"] == project.pk
    assert item["sizeFormatted"].endswith(" B") or item["sizeFormatted"].endswith(" KB")
    assert item["metadata"]["dimensions"] == {"width": 64, "height": 64}
    assert item["metadata"]["colorPalette"] == ["#dc141e"]
    assert item["metadata"]["embedding"] == {"status": "complete"}
    assert item["aiGenerated"] is False and item["uploadedAt"].endswith("Z")
    assert item["relatedElements"] == {"characters": [], "episode": None, "scene": None}

    assert ids(f"?projectId={project.pk}")[0] == [blue, red]
    assert ids("?mediaType=concept_art")[0] == [blue]
    assert ids("?search=rain")[0] == [red]
    assert ids("?search=CITY")[0] == [blue]
    assert ids("?tags=hero")[0] == [red]
    assert ids("?tags=hero,red")[0] == [red]  # user tag and analysis tag, both must match
    assert ids("?tags=hero,blue")[0] == []
    assert ids("?status=processing")[0] == [third]
    assert ids("?sort=filename&order=asc")[0] == [blue, red, third]
    assert ids("?sort=size&order=desc")[0][0] == third
    listed, body = ids("?limit=2&page=2")
    assert listed == [red] and body["pagination"]["hasPrev"] is True
    with_vector = json_body(auth_client.get("/api/v1/media?include=vector&limit=1"))
    assert len(with_vector["media"][0]["metadata"]["embedding"]["vector"] or []) in (0, 256)

    error = movie_error(auth_client.get("/api/v1/media?sort=colour"), 400, "VALIDATION_ERROR")
    assert error["details"][0]["field"] == "sort"
    movie_error(auth_client.get("/api/v1/media?limit=101"), 400, "VALIDATION_ERROR")


def test_list_shows_only_readable_projects(auth_client, other_auth_client, project, viewer_client):
    media_id = upload_one(auth_client, project)["mediaId"]
    assert json_body(other_auth_client.get("/api/v1/media"))["media"] == []
    movie_error(
        other_auth_client.get(f"/api/v1/media?projectId={project.pk}"), 403, "ACCESS_DENIED"
    )
    movie_error(
        auth_client.get("/api/v1/media?projectId=project-0000000000000000"), 404, "NOT_FOUND"
    )
    assert [m["id"] for m in json_body(viewer_client.get("/api/v1/media"))["media"]] == [media_id]


def test_list_query_count_does_not_grow_with_rows(auth_client, project, django_assert_num_queries):
    for index in range(3):
        analysed(auth_client, project, f"r{index}.png", RED)

    # The caller, the page's count, the page.
    with django_assert_num_queries(3):
        body = json_body(auth_client.get("/api/v1/media"))
    assert len(body["media"]) == 3
    for index in range(3):
        analysed(auth_client, project, f"b{index}.png", BLUE)
    with django_assert_num_queries(3):
        body = json_body(auth_client.get("/api/v1/media"))
    assert len(body["media"]) == 6


def test_detail_membership_and_usage(auth_client, other_auth_client, viewer_client, project):
    media_id = analysed(auth_client, project, "red.png", RED)
    from media_library.services import media_references_add

    media_references_add(media_ids=[media_id], session_id="session-1", message_id="msg-1")
    media_references_add(media_ids=[media_id], session_id="session-1", message_id="msg-2")
    media = json_body(viewer_client.get(f"/api/v1/media/{media_id}"))["media"]
    assert media["usage"]["referencedInSessions"] == ["session-1"]
    assert media["usage"]["referencedInMessages"] == 2
    assert media["usage"]["lastReferenced"].endswith("Z")
    assert media["version"] == 1 and media["agentGenerated"] is False
    movie_error(other_auth_client.get(f"/api/v1/media/{media_id}"), 403, "ACCESS_DENIED")
    movie_error(auth_client.get("/api/v1/media/media-0000000000000000"), 404, "NOT_FOUND")
    movie_error(APIClient().get(f"/api/v1/media/{media_id}"), 401, "AUTH_REQUIRED")


# --- signed links -------------------------------------------------------------------------


def test_signed_links_serve_the_file_and_thumbnail_without_a_token(auth_client, project):
    media_id = analysed(auth_client, project, "red hero.png", RED)
    before = time.time()
    media = json_body(auth_client.get(f"/api/v1/media/{media_id}"))["media"]
    assert media["downloadUrlExpiresAt"].endswith("Z")
    expires = datetime.fromisoformat(media["downloadUrlExpiresAt"]).timestamp()
    anonymous = APIClient()
    download = anonymous.get(media["downloadUrl"])
    assert download.status_code == 200
    assert download["Content-Type"] == "image/png"
    assert download["Content-Disposition"] == 'attachment; filename="red hero.png"'
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content) == image_bytes(RED)
    thumb = anonymous.get(media["thumbnailUrl"])
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    assert b"".join(thumb.streaming_content)[:3] == b"\xff\xd8\xff"
    # The same link for the next minutes (browsers cache it), counted against the user's tier.
    again = json_body(auth_client.get(f"/api/v1/media/{media_id}"))["media"]
    after = time.time()
    if again["downloadUrlExpiresAt"] == media["downloadUrlExpiresAt"]:
        assert again["downloadUrl"] == media["downloadUrl"]
    else:  # a link bucket ended between the two (links expire at the end of one)
        later = datetime.fromisoformat(again["downloadUrlExpiresAt"]).timestamp()
        assert later == expires + LINK_BUCKET_SECONDS
    assert download["X-RateLimit-Tier"] == "free"
    # Valid an hour at least, at most a bucket more; cached for as long as it is valid.
    assert int(before) + 3600 <= expires <= after + 3600 + LINK_BUCKET_SECONDS
    max_age = int(download["Cache-Control"].removeprefix("private, max-age="))
    assert int(expires - after) <= max_age <= expires - before


def test_tampered_signed_links_are_refused(auth_client, project):
    first = analysed(auth_client, project, "a.png", RED)
    second = analysed(auth_client, project, "b.png", BLUE)
    url = json_body(auth_client.get(f"/api/v1/media/{first}"))["media"]["downloadUrl"]
    path, token = url.replace("http://testserver", "").split("?token=")
    anonymous = APIClient()
    # Another media's id with this token; the download token on the thumbnail route; a
    # changed signature; no token.
    movie_error(
        anonymous.get(path.replace(first, second) + "?token=" + token), 403, "ACCESS_DENIED"
    )
    thumb_path = path.replace("/download", "/thumbnail")
    movie_error(anonymous.get(f"{thumb_path}?token={token}"), 403, "ACCESS_DENIED")
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    movie_error(anonymous.get(f"{path}?token={flipped}"), 403, "ACCESS_DENIED")
    movie_error(anonymous.get(path), 403, "ACCESS_DENIED")


def test_expired_signed_links_are_refused(auth_client, project):
    media_id = analysed(auth_client, project, "a.png", RED)
    media = Media.objects.get(pk=media_id)
    expired = signed_link(media, "download", lifetime=-1)
    response = APIClient().get(expired.url)
    error = movie_error(response, 403, "ACCESS_DENIED")
    assert "expired" in error["message"]
    assert response["X-RateLimit-Tier"] == "anonymous"  # a link made for nobody
    fresh = signed_link(media, "download", lifetime=60)
    assert APIClient().get(fresh.url).status_code == 200


def test_a_link_to_a_removed_file_is_404(auth_client, project):
    media_id = analysed(auth_client, project, "a.png", RED)
    media = Media.objects.get(pk=media_id)
    link = signed_link(media, "download")
    Media.objects.filter(pk=media_id).update(status="archived")
    movie_error(APIClient().get(link.url), 404, "NOT_FOUND")
    Media.objects.filter(pk=media_id).delete()
    movie_error(APIClient().get(link.url), 404, "NOT_FOUND")


# --- search ---------------------------------------------------------------------------------


def test_search_ranks_a_red_square_above_a_blue_one_for_red(auth_client, project):
    blue = analysed(auth_client, project, "square-1.png", BLUE)
    red = analysed(auth_client, project, "square-2.png", RED)
    body = json_body(auth_client.post("/api/v1/media/search", {"query": "red"}))
    assert [hit["media"]["id"] for hit in body["results"]] == [red, blue]
    top, second = body["results"]
    assert top["similarity"] > second["similarity"]
    assert top["matchingElements"] == ["red"] and second["matchingElements"] == []
    assert top["media"]["filename"] == "square-2.png"
    assert top["media"]["thumbnailUrl"].startswith("http://testserver/")
    assert body["queryEmbedding"]["model"] == "offline-hash"
    assert isinstance(body["queryEmbedding"]["processingTime"], int)

    blue_first = json_body(auth_client.post("/api/v1/media/search", {"query": "blue"}))
    assert [hit["media"]["id"] for hit in blue_first["results"]] == [blue, red]


def test_search_threshold_limit_and_filters(auth_client, project, user):
    other = Project.objects.create(owner=user, title="Other")
    red = analysed(auth_client, project, "r.png", RED, mediaType="concept_art")
    blue = analysed(auth_client, project, "b.png", BLUE, mediaType="storyboard")
    red_elsewhere = analysed(auth_client, other, "r2.png", RED, mediaType="concept_art")

    def search(**body):
        answer = json_body(auth_client.post("/api/v1/media/search", {"query": "red", **body}))
        return [hit["media"]["id"] for hit in answer["results"]], answer

    all_ids, answer = search()
    assert set(all_ids) == {red, blue, red_elsewhere} and all_ids[-1] == blue
    top_similarity = answer["results"][0]["similarity"]
    assert 0 < top_similarity <= 1
    assert blue not in search(threshold=0.2)[0]
    assert search(threshold=1.0)[0] == []
    assert len(search(limit=1)[0]) == 1
    assert set(search(projectId=project.pk)[0]) == {red, blue}
    assert set(search(mediaTypes=["storyboard"])[0]) == {blue}

    for bad in (
        {"threshold": 1.5},
        {"threshold": -0.1},
        {"limit": 0},
        {"limit": 101},
        {"mediaTypes": ["hologram"]},
        {"query": ""},
    ):
        error = movie_error(
            auth_client.post("/api/v1/media/search", {"query": "red", **bad}),
            400,
            "VALIDATION_ERROR",
        )
        assert error["details"][0]["field"].split("[")[0].split(".")[0] in bad
    movie_error(auth_client.post("/api/v1/media/search", {}), 400, "VALIDATION_ERROR")


def test_search_only_sees_readable_media(auth_client, other_auth_client, project):
    analysed(auth_client, project, "r.png", RED)
    body = json_body(other_auth_client.post("/api/v1/media/search", {"query": "red"}))
    assert body["results"] == []
    movie_error(
        other_auth_client.post("/api/v1/media/search", {"query": "red", "projectId": project.pk}),
        403,
        "ACCESS_DENIED",
    )
    movie_error(
        APIClient().post("/api/v1/media/search", {"query": "red"}, format="json"),
        401,
        "AUTH_REQUIRED",
    )


def test_search_skips_unanalysed_and_failed_media(auth_client, project):
    upload_one(auth_client, project, "pending.png")
    body = json_body(auth_client.post("/api/v1/media/search", {"query": "red"}))
    assert body["results"] == []


ANALYSIS = {
    "description": "A flat square.",
    "tags": ["square"],
    "detectedObjects": [],
    "styleAnalysis": {"mood": "bold", "lighting": "flat", "colorTone": "warm"},
    "styleElements": [],
    "suitability": [],
}


def test_search_through_the_model_api(auth_client, project, fake_openai):
    fake_openai.queue_structured(ANALYSIS)
    red = analysed(auth_client, project, "r.png", RED)
    body = json_body(auth_client.post("/api/v1/media/search", {"query": "red"}))
    assert [hit["media"]["id"] for hit in body["results"]] == [red]
    assert body["queryEmbedding"]["model"] == "fake-embeddings"
    assert [r.body["input"] for r in fake_openai.requests if r.route == "embeddings"][-1] == ["red"]


def test_media_routes_refuse_other_methods_in_m_body(auth_client):
    movie_error(auth_client.delete("/api/v1/media/search"), 405, "METHOD_NOT_ALLOWED")
    movie_error(auth_client.get("/api/v1/media/upload"), 405, "METHOD_NOT_ALLOWED")


def test_a_viewer_role_constant_is_the_projects_one():
    assert CollaboratorRole.VIEWER == "viewer"
    assert connection.vendor in {"sqlite", "postgresql"}


def test_a_vision_model_is_shown_the_thumbnail(auth_client, project, fake_openai, settings):
    settings.MEDIA_ANALYSIS_SEND_IMAGE = True
    fake_openai.queue_structured(ANALYSIS)
    media_id = analysed(auth_client, project, "r.png", RED)
    assert Media.objects.get(pk=media_id).status == "active"
    [request] = [r for r in fake_openai.requests if r.body.get("response_format")]
    text, picture = request.body["messages"][1]["content"]
    assert text["type"] == "text" and "Dominant colours: red" in text["text"]
    assert picture["image_url"]["url"].startswith("data:image/jpeg;base64,/9j/")


def test_the_offline_provider_reads_text_only(auth_client, project, settings):
    settings.MEDIA_ANALYSIS_SEND_IMAGE = True  # ignored: the offline provider has no eyes
    media_id = analysed(auth_client, project, "r.png", RED)
    assert Media.objects.get(pk=media_id).status == "active"


# --- update and delete ----------------------------------------------------------------------


def test_patch_renames_retags_and_reanalyses(auth_client, project):
    media_id = analysed(auth_client, project, "r.png", RED, tags='["hero"]')
    body = json_body(
        auth_client.patch(
            f"/api/v1/media/{media_id}",
            {
                "displayName": "Hero, red coat",
                "tags": ["villain", "coat"],
                "mediaType": "reference",
            },
        )
    )
    media = body["media"]
    assert media["displayName"] == "Hero, red coat" and media["mediaType"] == "reference"
    assert media["tags"] == ["villain", "coat"]
    # New words: the analysis runs again, so search and the tags filter follow them.
    assert media["status"] == "processing"
    run_pending_tasks()
    listed = json_body(auth_client.get("/api/v1/media?tags=villain,red"))["media"]
    assert [m["id"] for m in listed] == [media_id]
    assert json_body(auth_client.get("/api/v1/media?tags=hero"))["media"] == []
    hits = json_body(auth_client.post("/api/v1/media/search", {"query": "villain"}))["results"]
    assert hits[0]["matchingElements"] == ["villain"]

    # A new display name alone changes nothing else.
    renamed = json_body(auth_client.patch(f"/api/v1/media/{media_id}", {"displayName": "Coat"}))
    assert renamed["media"]["status"] == "active"
    error = movie_error(auth_client.patch(f"/api/v1/media/{media_id}", {}), 400, "VALIDATION_ERROR")
    assert error["message"]


def test_archive_hides_from_search_and_restore_brings_back(auth_client, project):
    media_id = analysed(auth_client, project, "r.png", RED)
    archived = json_body(auth_client.patch(f"/api/v1/media/{media_id}", {"status": "archived"}))
    assert archived["media"]["status"] == "archived"
    assert json_body(auth_client.post("/api/v1/media/search", {"query": "red"}))["results"] == []
    listed = json_body(auth_client.get("/api/v1/media?status=archived"))["media"]
    assert [m["id"] for m in listed] == [media_id]
    movie_error(auth_client.post(f"/api/v1/media/{media_id}/reanalyze"), 400, "VALIDATION_ERROR")
    restored = json_body(auth_client.patch(f"/api/v1/media/{media_id}", {"status": "active"}))
    assert restored["media"]["status"] == "active"
    assert (
        len(json_body(auth_client.post("/api/v1/media/search", {"query": "red"}))["results"]) == 1
    )


def test_a_failed_media_is_retried_with_reanalyze_not_by_status(auth_client, project):
    media_id = upload_one(auth_client, project, "broken.jpg", truncated_jpeg())["mediaId"]
    run_pending_tasks()
    error = movie_error(
        auth_client.patch(f"/api/v1/media/{media_id}", {"status": "active"}),
        400,
        "VALIDATION_ERROR",
    )
    assert error["details"][0]["field"] == "status"
    movie_error(
        auth_client.patch(f"/api/v1/media/{media_id}", {"status": "failed"}),
        400,
        "VALIDATION_ERROR",
    )


def test_update_and_delete_need_write_access(
    auth_client, project, viewer_client, other_auth_client
):
    media_id = upload_one(auth_client, project)["mediaId"]
    for client, status, code in (
        (viewer_client, 403, "ACCESS_DENIED"),
        (other_auth_client, 403, "ACCESS_DENIED"),
    ):
        movie_error(client.patch(f"/api/v1/media/{media_id}", {"displayName": "x"}), status, code)
        movie_error(client.delete(f"/api/v1/media/{media_id}"), status, code)
    movie_error(auth_client.delete("/api/v1/media/media-0000000000000000"), 404, "NOT_FOUND")
    assert Media.objects.filter(pk=media_id).exists()


def test_delete_removes_the_media_and_its_files(
    auth_client, project, django_capture_on_commit_callbacks
):
    media_id = analysed(auth_client, project, "r.png", RED)
    media = Media.objects.get(pk=media_id)
    link = signed_link(media, "download")
    storage = media.file.storage
    names = [media.file.name, media.thumbnail.name]
    assert all(storage.exists(name) for name in names)
    with django_capture_on_commit_callbacks(execute=True):
        body = json_body(auth_client.delete(f"/api/v1/media/{media_id}"))
    assert body == {"success": True, "id": media_id, "deleted": True}
    assert not any(storage.exists(name) for name in names)
    movie_error(auth_client.get(f"/api/v1/media/{media_id}"), 404, "NOT_FOUND")
    movie_error(APIClient().get(link.url), 404, "NOT_FOUND")
