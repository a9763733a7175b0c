"""Errors of the media library."""

from core.errors import ConflictError, DomainError, ErrorCode, NotFoundError


class MediaNotFound(NotFoundError):
    pass


class FileTooLarge(DomainError):
    """Every file of an upload was over the caller's tier limit (413 semantics)."""

    code = ErrorCode.FILE_TOO_LARGE


class UnsupportedFormat(DomainError):
    """Every file of an upload was of a type the library does not accept (415 semantics)."""

    code = ErrorCode.UNSUPPORTED_FORMAT


class MediaBusy(ConflictError):
    """The media is being analysed already."""


class SignedLinkInvalid(DomainError):
    """A download or thumbnail link whose signature is wrong, or that has expired."""

    code = ErrorCode.ACCESS_DENIED
