"""What the analysis asks the model, the shape of its answer, and the text that is embedded."""

from __future__ import annotations

import base64

from ai.types import ChatMessage
from media_library.analysis import ImageFacts

ANALYSIS_SCHEMA = {
    "type": "object",
    "properties": {
        "description": {"type": "string", "maxLength": 1000},
        "tags": {
            "type": "array",
            "items": {"type": "string", "maxLength": 50},
            "minItems": 1,
            "maxItems": 12,
        },
        "detectedObjects": {
            "type": "array",
            "items": {"type": "string", "maxLength": 60},
            "maxItems": 12,
        },
        "styleAnalysis": {
            "type": "object",
            "properties": {
                "mood": {"type": "string", "maxLength": 60},
                "lighting": {"type": "string", "maxLength": 60},
                "colorTone": {"type": "string", "enum": ["warm", "cool", "neutral"]},
            },
            "required": ["mood", "lighting", "colorTone"],
            "additionalProperties": False,
        },
        "styleElements": {
            "type": "array",
            "items": {"type": "string", "maxLength": 60},
            "maxItems": 8,
        },
        "suitability": {
            "type": "array",
            "items": {"type": "string", "maxLength": 60},
            "maxItems": 8,
        },
    },
    "required": [
        "description",
        "tags",
        "detectedObjects",
        "styleAnalysis",
        "styleElements",
        "suitability",
    ],
    "additionalProperties": False,
}

SYSTEM = (
    "You catalogue reference images for a film production team. From the facts given, "
    "describe the image in one or two sentences, tag it with short lowercase keywords "
    "(subjects, style, colours), name objects you can infer, its mood, lighting and colour "
    "tone, its style elements, and which production uses it suits (e.g. character-reference, "
    "costume-design, mood-boarding, location-scouting). Answer with JSON only."
)


def colour_words(palette: list[dict]) -> list[str]:
    """The palette's colour names, most dominant first, without repeats."""
    words: list[str] = []
    for colour in palette:
        if colour["name"] not in words:
            words.append(colour["name"])
    return words


def analysis_messages(media, facts: ImageFacts, *, with_image: bool = False) -> list[ChatMessage]:
    """The prompt: the pixel facts and the uploader's words; with `with_image`, the
    thumbnail too (as an OpenAI-style `image_url` part), for a vision model."""
    lines = [
        f"Purpose: {media.media_type.replace('_', ' ')}",
        f"Picture: {facts.width}x{facts.height} {facts.format}",
        f"Dominant colours: {', '.join(colour_words(facts.palette))}",
    ]
    if media.description:
        lines.append(f"Uploader's note: {media.description}")
    if media.tags:
        lines.append(f"Uploader's tags: {', '.join(media.tags)}")
    text = "\n".join(lines)
    if not with_image:
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}]
    picture = base64.b64encode(facts.thumbnail).decode("ascii")
    parts = [
        {"type": "text", "text": text},
        {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{picture}"}},
    ]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": parts}]


def embedding_text(media, analysis: dict, colours: list[str]) -> str:
    """What the media's embedding stands for: descriptions, tags and colour names."""
    parts = [
        analysis.get("description", ""),
        media.description,
        " ".join(media.tags),
        " ".join(analysis.get("tags", [])),
        " ".join(analysis.get("styleElements", [])),
        " ".join(colours),
    ]
    return ". ".join(part for part in parts if part)
