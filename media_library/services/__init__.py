"""Writers of the media library: uploads, their analysis, re-analysis, archiving, usage.

An upload keeps every acceptable file and reports the others in `rejected`; the analysis
runs later as a background task (`media_library.tasks`), so the upload answers at once with
status `processing`. The task moves the media to `active`, or to `failed` with a reason; a
failed analysis never loses the file, and `media_reanalyse` runs it again.

One module per responsibility, and this package is the one name callers import:
`tags` (cleaning and indexing tags), `uploads` (taking files in), `analyse` (queuing and
running the analysis in the task worker) and `changes` (what a client or an operator asks
for afterwards).
"""

from media_library.services.analyse import (
    embedding_model_name,
    media_analyse,
    media_fail,
    to_unit_float32,
)
from media_library.services.changes import (
    media_delete,
    media_reanalyse,
    media_references_add,
    media_requeue,
    media_update,
)
from media_library.services.tags import clean_ai_tags, clean_tags, tag_index
from media_library.services.uploads import Rejected, media_upload, upload_limit_for

__all__ = [
    "Rejected",
    "clean_ai_tags",
    "clean_tags",
    "embedding_model_name",
    "media_analyse",
    "media_delete",
    "media_fail",
    "media_reanalyse",
    "media_references_add",
    "media_requeue",
    "media_update",
    "media_upload",
    "tag_index",
    "to_unit_float32",
    "upload_limit_for",
]
