"""What other apps call: the upload service (the chat's upload route) and the selectors of
attachments."""

from __future__ import annotations

import pytest

from core.errors import AccessDenied, ValidationFailed
from media_library import services
from media_library.errors import FileTooLarge
from media_library.models import Media, MediaReference
from media_library.selectors import media_readable_by, query_terms
from projects.models import CollaboratorRole, Project
from tests.factories import UserFactory
from tests.media_library.fixtures import member
from tests.media_library.images import RED, image_bytes, upload_file

pytestmark = pytest.mark.django_db


def test_upload_for_a_chat_session_records_the_reference(user, project):
    [media], rejected = services.media_upload(
        user=user,
        project=project,
        files=[upload_file("ref.png", image_bytes(RED)), upload_file("x.txt", b"text")],
        media_type="style_reference",
        description="Character reference image",
        tags=None,
        session="session-abc",
    )
    assert [r.code for r in rejected] == ["UNSUPPORTED_FORMAT"]
    assert MediaReference.objects.get(media=media).session_id == "session-abc"
    assert media.status == "processing" and media.description == "Character reference image"


def test_upload_checks_write_access_and_the_tier_itself(user, project, settings):
    viewer = member(project, CollaboratorRole.VIEWER)
    with pytest.raises(AccessDenied):
        services.media_upload(
            user=viewer,
            project=project,
            files=[upload_file("a.png", image_bytes())],
            media_type=None,
        )
    settings.MEDIA_UPLOAD_MAX_BYTES = {"free": 10, "pro": 10, "enterprise": 10}
    with pytest.raises(FileTooLarge):
        services.media_upload(
            user=user,
            project=project,
            files=[upload_file("a.png", image_bytes())],
            media_type=None,
        )
    assert not Media.objects.exists()


def test_tags_are_trimmed_and_deduplicated(user, project):
    [media], _ = services.media_upload(
        user=user,
        project=project,
        files=[upload_file("a.png", image_bytes())],
        media_type="other",
        tags=[" Hero ", "hero", "night  sky", ""],
    )
    assert media.tags == ["Hero", "night sky"]
    with pytest.raises(ValidationFailed):
        services.clean_tags(["x" * 51])
    with pytest.raises(ValidationFailed):
        services.clean_tags([f"t{i}" for i in range(21)])


def test_media_readable_by_keeps_only_what_the_caller_may_read(user, project):
    [mine], _ = services.media_upload(
        user=user, project=project, files=[upload_file("a.png", image_bytes())], media_type=None
    )
    stranger = UserFactory()
    theirs_project = Project.objects.create(owner=stranger, title="Theirs")
    [theirs], _ = services.media_upload(
        user=stranger,
        project=theirs_project,
        files=[upload_file("b.png", image_bytes())],
        media_type=None,
    )
    found = media_readable_by(user, [mine.pk, theirs.pk, "media-unknown"])
    assert list(found) == [mine.pk]


def test_query_terms_are_words_and_pairs():
    assert query_terms("Urban action hero with dark clothing") == [
        "urban action",
        "action hero",
        "dark clothing",
        "urban",
        "action",
        "hero",
        "dark",
        "clothing",
    ]


def test_matching_elements_prefer_phrases(user, project):
    from media_library.selectors import matching_elements

    [media], _ = services.media_upload(
        user=user,
        project=project,
        files=[upload_file("a.png", image_bytes())],
        media_type=None,
        description="An urban action hero in dark clothing",
        tags=["night"],
    )
    terms = query_terms("urban hero, dark clothing at night in the rain")
    assert matching_elements(terms, media) == ["dark clothing", "urban", "hero", "night"]
