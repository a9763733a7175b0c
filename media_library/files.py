"""What an uploaded file is, told by its content, and upload handling that never holds a
large file in memory.

The allow-list is checked against the file's first bytes (magic numbers) and then Pillow
must open and verify it as the same format; the client's filename and Content-Type are not
trusted. A file over the caller's size limit is not even written in full: the upload handler
stops storing it at the limit and only counts the rest.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from PIL import Image

# mime → (Pillow format name, the format's human name)
ALLOWED_FORMATS: dict[str, tuple[str, str]] = {
    "image/png": ("PNG", "PNG"),
    "image/jpeg": ("JPEG", "JPEG"),
    "image/webp": ("WEBP", "WebP"),
    "image/gif": ("GIF", "GIF"),
}
SNIFF_BYTES = 32


def sniff_mime(head: bytes) -> str | None:
    """The allowed mime type whose signature `head` starts with, else None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class Sniffed:
    mime: str | None
    reason: str = ""


def identify(file) -> Sniffed:
    """Tell an allowed image by content: signature, then Pillow's verify of the same format.

    Reads the file through its own handle (a temporary file on disk for large uploads) and
    leaves it rewound.
    """
    file.seek(0)
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    mime = sniff_mime(head)
    if mime is None:
        return Sniffed(None, "not an image of an accepted format (PNG, JPEG, WebP, GIF)")
    expected = ALLOWED_FORMATS[mime][0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as image:
                if image.format != expected:
                    return Sniffed(None, f"content claims {expected} but is {image.format}")
                image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return Sniffed(None, "image has too many pixels")
    except Exception as exc:  # Pillow raises many types for broken files
        return Sniffed(None, f"not a readable {ALLOWED_FORMATS[mime][1]} image ({exc})")
    finally:
        file.seek(0)
    return Sniffed(mime)


class OversizeUpload(UploadedFile):
    """A file part that went over the limit: its name and how many bytes were sent, no data."""

    too_large = True

    def __init__(self, name: str, size: int, content_type: str | None):
        super().__init__(file=None, name=name, content_type=content_type, size=size)

    def open(self, mode=None):
        raise ValueError("an oversize upload keeps no data")


class SizeLimitedUploadHandler(TemporaryFileUploadHandler):
    """Stream every file part to a temporary file, up to `limit` bytes per file.

    Past the limit the part's temporary file is dropped and the rest of its bytes are only
    counted, so the view can report FILE_TOO_LARGE with the size sent while neither memory
    nor disk holds more than `limit` bytes of it.
    """

    def __init__(self, request=None, *, limit: int):
        super().__init__(request)
        self.limit = limit

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0
        self.oversize = False

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.oversize:
            return None
        if self.received > self.limit:
            self.oversize = True
            self.file.close()  # a NamedTemporaryFile: closing deletes it
            return None
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size):
        if self.oversize:
            return OversizeUpload(self.file_name, self.received, self.content_type)
        return super().file_complete(file_size)

    def upload_interrupted(self):
        if not self.oversize:
            super().upload_interrupted()


def limit_uploads(request, *, limit: int) -> None:
    """Before the body is read: stream each file part to a temporary file, cut at `limit`.

    `request` is a Django request or a DRF one (DRF's multipart parser reads the handlers
    from it). Upload routes call it first thing, so a file over the caller's limit never
    fills memory or disk.
    """
    request.upload_handlers = [SizeLimitedUploadHandler(request, limit=limit)]
