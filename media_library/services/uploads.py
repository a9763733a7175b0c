"""Taking files in: what a tier may upload, which files are kept, and why others are not."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction

from core.errors import ErrorCode, ValidationFailed
from media_library.errors import FileTooLarge, UnsupportedFormat
from media_library.files import identify
from media_library.models import Media, MediaReference, MediaType
from media_library.services.analyse import enqueue_analysis
from media_library.services.tags import clean_tags, tag_index
from projects.selectors import project_check_access

MAX_DESCRIPTION_CHARS = 4000


@dataclass(frozen=True)
class Rejected:
    """A file of an upload that was not kept, and why."""

    filename: str
    size: int
    code: ErrorCode
    message: str


def upload_limit_for(user) -> int:
    """The largest file `user`'s tier may upload, in bytes."""
    limits = settings.MEDIA_UPLOAD_MAX_BYTES
    return limits.get(getattr(user, "tier", "free"), limits["free"])


def _session_ref(session) -> str:
    if session is None or isinstance(session, str):
        return session or ""
    return str(getattr(session, "public_id", None) or session.pk)


def media_upload(
    *,
    user,
    project,
    files: list,
    media_type: str | None,
    description: str = "",
    tags: list[str] | None = None,
    session=None,
) -> tuple[list[Media], list[Rejected]]:
    """Keep each acceptable file of `files` as a new Media of `project` and queue its analysis.

    Only a member who may write the project uploads. Each file is told by its content (see
    media_library.files); a file over the caller's tier limit or of another type is reported
    in `rejected` while the others are kept. When no file is kept the upload fails as a whole:
    FileTooLarge or UnsupportedFormat when every rejection had that reason, else a
    validation error listing them. With `session` (a chat session) the media is recorded as
    referenced by it.
    """
    project_check_access(user, project, write=True)
    media_type = media_type or MediaType.OTHER
    if media_type not in MediaType.values:
        raise ValidationFailed(
            f"mediaType must be one of {', '.join(MediaType.values)}",
            details=[{"field": "mediaType", "message": f"Must be one of {MediaType.values}"}],
        )
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise ValidationFailed(
            f"description may have at most {MAX_DESCRIPTION_CHARS} characters",
            details=[{"field": "description", "message": "Too long"}],
        )
    tags = clean_tags(tags)
    if not files:
        raise ValidationFailed(
            "No file sent: use the multipart field `files` (or `file`)",
            details=[{"field": "files", "message": "At least one file is required"}],
        )
    if len(files) > settings.MEDIA_UPLOAD_MAX_FILES:
        raise ValidationFailed(
            f"At most {settings.MEDIA_UPLOAD_MAX_FILES} files per upload",
            details=[{"field": "files", "message": "Too many files"}],
        )
    limit = upload_limit_for(user)
    accepted: list[tuple[object, str]] = []
    rejected: list[Rejected] = []
    for file in files:
        name = (getattr(file, "name", "") or "upload")[:255]
        if getattr(file, "too_large", False) or file.size > limit:
            rejected.append(
                Rejected(
                    name,
                    file.size,
                    ErrorCode.FILE_TOO_LARGE,
                    f"{name}: {file.size} bytes is over the {limit}-byte limit of the "
                    f"{getattr(user, 'tier', 'free')} tier",
                )
            )
            continue
        sniffed = identify(file)
        if sniffed.mime is None:
            rejected.append(
                Rejected(name, file.size, ErrorCode.UNSUPPORTED_FORMAT, f"{name}: {sniffed.reason}")
            )
            continue
        accepted.append((file, sniffed.mime))
    if not accepted:
        _refuse_all(rejected)
    session_id = _session_ref(session)
    created: list[Media] = []
    with transaction.atomic():
        for file, mime in accepted:
            media = Media(
                project=project,
                uploaded_by=user,
                original_filename=file.name[:255],
                display_name=file.name[:255],
                mime_type=mime,
                size=file.size,
                media_type=media_type,
                description=description,
                tags=tags,
                tag_index=tag_index(tags),
            )
            file.seek(0)
            # Storage moves a temporary upload into place (no copy through memory).
            media.file.save(file.name, file, save=False)
            try:
                media.save(force_insert=True)
            except BaseException:
                default_storage.delete(media.file.name)
                raise
            if session_id:
                MediaReference.objects.create(media=media, session_id=session_id, message_id="")
            enqueue_analysis(media.pk)
            created.append(media)
    return created, rejected


def _refuse_all(rejected: list[Rejected]) -> None:
    details = [
        {"field": f"files[{index}]", "message": f"{item.code}: {item.message}"}
        for index, item in enumerate(rejected)
    ]
    codes = {item.code for item in rejected}
    if codes == {ErrorCode.FILE_TOO_LARGE}:
        raise FileTooLarge("Every file is over the size limit of your tier", details=details)
    if codes == {ErrorCode.UNSUPPORTED_FORMAT}:
        raise UnsupportedFormat(
            "No file is of a supported format (PNG, JPEG, WebP, GIF)", details=details
        )
    raise ValidationFailed("No file could be accepted", details=details)
