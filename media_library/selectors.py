"""Readers of the media library. A caller sees the media of the projects it may read."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np
from django.db.models import Count, Max, Q, QuerySet

from media_library.errors import MediaNotFound
from media_library.models import Media, MediaStatus
from projects.selectors import project_check_access, projects_readable_by

SORT_FIELDS = {"filename": "original_filename", "upload_date": "created_at", "size": "size"}
_WORD = re.compile(r"[\w'-]+", re.UNICODE)
_STOPWORDS = frozenset(
    "a an and are as at be but by for from has have in is it its of on or so that the this "
    "to was with".split()
)


def media_visible_to(user) -> QuerySet[Media]:
    """Every media of a project `user` may read."""
    return Media.objects.filter(project__in=projects_readable_by(user))


def media_list(
    *,
    user,
    project_id: str | None = None,
    media_type: str | None = None,
    search: str | None = None,
    tags: list[str] | None = None,
    status: str | None = None,
    sort: str = "upload_date",
    order: str = "desc",
) -> QuerySet[Media]:
    """The caller's media, filtered and ordered; `tags` must all match (user or AI tags)."""
    qs = media_visible_to(user)
    if project_id:
        qs = qs.filter(project_id=project_id)
    if media_type:
        qs = qs.filter(media_type=media_type)
    if status:
        qs = qs.filter(status=status)
    if search:
        qs = qs.filter(
            Q(original_filename__icontains=search)
            | Q(display_name__icontains=search)
            | Q(description__icontains=search)
        )
    for tag in tags or []:
        qs = qs.filter(tag_index__contains=f",{tag.casefold()},")
    field = SORT_FIELDS[sort]
    prefix = "-" if order == "desc" else ""
    return qs.order_by(f"{prefix}{field}", f"{prefix}id")


def media_get_for(user, media_id: str, *, write: bool = False) -> Media:
    """One media, if its project is readable (or writable) by `user`; else 404 / 403 as the
    projects' membership rule says."""
    media = Media.objects.select_related("project").filter(pk=str(media_id)).first()
    if media is None:
        raise MediaNotFound(f"Media {media_id} not found")
    project_check_access(user, media.project, write=write)
    return media


def media_readable_by(user, ids: list[str]) -> dict[str, Media]:
    """Those of `ids` the caller may read, by id (for chat attachments)."""
    return {m.pk: m for m in media_visible_to(user).filter(pk__in=[str(i) for i in ids])}


@dataclass(frozen=True)
class MediaUsage:
    sessions: list[str]
    messages: int
    last_referenced: object


def media_usage(media: Media) -> MediaUsage:
    refs = media.references.all()
    totals = refs.aggregate(
        messages=Count("message_id", filter=~Q(message_id="")), last=Max("created_at")
    )
    sessions = list(dict.fromkeys(refs.values_list("session_id", flat=True)))
    return MediaUsage(sessions, totals["messages"], totals["last"])


# --- semantic search ------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchHit:
    media: Media
    similarity: float
    matching_elements: list[str]


def media_search(
    *,
    user,
    query: str,
    query_vector,
    model: str,
    project_id: str | None = None,
    media_types: list[str] | None = None,
    limit: int = 10,
    threshold: float = 0.0,
) -> list[SearchHit]:
    """Rank the caller's analysed media by cosine similarity to `query_vector`.

    Only media embedded by `model` are compared (vectors of different models live in
    different spaces). The vectors are read as one matrix and scored with one matrix
    product; only the `limit` best rows are loaded in full.
    """
    qs = media_visible_to(user).filter(
        status=MediaStatus.ACTIVE, embedding_model=model, embedding__isnull=False
    )
    if project_id:
        qs = qs.filter(project_id=project_id)
    if media_types:
        qs = qs.filter(media_type__in=media_types)
    q = np.asarray(query_vector, dtype=np.float32)
    rows = list(qs.filter(embedding_dimensions=q.shape[0]).values_list("pk", "embedding"))
    if not rows:
        return []
    ids = [pk for pk, _ in rows]
    matrix = np.frombuffer(b"".join(bytes(blob) for _, blob in rows), dtype="<f4").reshape(
        len(rows), q.shape[0]
    )
    q_norm = float(np.linalg.norm(q)) or 1.0
    norms = np.linalg.norm(matrix, axis=1)
    norms[norms == 0] = 1.0
    scores = (matrix @ q) / (norms * q_norm)
    order = np.argsort(-scores, kind="stable")
    best = [i for i in order if scores[i] >= threshold][:limit]
    if not best:
        return []
    found = {m.pk: m for m in Media.objects.filter(pk__in=[ids[i] for i in best])}
    terms = query_terms(query)
    return [
        SearchHit(
            found[ids[i]],
            round(float(scores[i]), 4),
            matching_elements(terms, found[ids[i]]),
        )
        for i in best
        if ids[i] in found
    ]


def query_terms(query: str) -> list[str]:
    """The query's content words, and pairs of them next to each other ("dark clothing")."""
    tokens = _WORD.findall(query.casefold())
    words = [w for w in tokens if w not in _STOPWORDS]
    pairs = [
        f"{a} {b}"
        for a, b in itertools.pairwise(tokens)
        if a not in _STOPWORDS and b not in _STOPWORDS
    ]
    return list(dict.fromkeys(pairs + words))


def matching_elements(terms: list[str], media: Media) -> list[str]:
    """Terms found in the media's tags or descriptions; a pair hides the words it contains."""
    analysis = media.ai_analysis or {}
    tags = [t.casefold() for t in [*media.tags, *analysis.get("tags", [])]]
    text = " ".join(
        [media.description.casefold(), str(analysis.get("description", "")).casefold(), *tags]
    )
    words = set(_WORD.findall(text))
    found: list[str] = []
    for term in terms:
        if " " in term:
            if term in text or term in tags:
                found.append(term)
        elif term in words and not any(term in f.split() for f in found):
            found.append(term)
    return found
