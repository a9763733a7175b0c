"""The AI provider per task and the limits on AI turns."""

import os

# --- AI provider ---------------------------------------------------------------------------
# With no AI_BASE_URL and no OPENAI_API_KEY the offline provider answers in-process. Each task
# can point elsewhere with AI_<TASK>_BASE_URL / _API_KEY / _MODEL (TASK in AI_TASK_NAMES).
AI_TASK_NAMES = (
    "dialogue",
    "extraction",
    "opening_line",
    "choices",
    "images",
    "embeddings",
    "media_analysis",
)
_AI_DEFAULT_MODELS = {
    "images": os.environ.get("AI_IMAGE_MODEL", "gpt-image-1"),
    "embeddings": os.environ.get("AI_EMBEDDING_MODEL", "text-embedding-3-small"),
}


def _ai_task(task: str) -> dict:
    prefix = f"AI_{task.upper()}_"
    base_url = os.environ.get(prefix + "BASE_URL", os.environ.get("AI_BASE_URL", ""))
    api_key = os.environ.get(prefix + "API_KEY", os.environ.get("OPENAI_API_KEY", ""))
    return {
        "base_url": base_url,
        "api_key": api_key,
        "model": os.environ.get(
            prefix + "MODEL",
            _AI_DEFAULT_MODELS.get(task, os.environ.get("AI_MODEL", "gpt-4o-mini")),
        ),
        "timeout": float(os.environ.get(prefix + "TIMEOUT", os.environ.get("AI_TIMEOUT", 60))),
        "max_retries": int(
            os.environ.get(prefix + "MAX_RETRIES", os.environ.get("AI_MAX_RETRIES", 2))
        ),
        "offline": not base_url and not api_key,
    }


AI_TASKS = {task: _ai_task(task) for task in AI_TASK_NAMES}
AI_OFFLINE_DELAY = float(os.environ.get("AI_OFFLINE_DELAY", 0.02))
AI_EMBEDDING_DIMENSIONS = int(os.environ.get("AI_EMBEDDING_DIMENSIONS", 256))
AI_HISTORY_TOKEN_BUDGET = int(os.environ.get("AI_HISTORY_TOKEN_BUDGET", 3000))
# Seconds a game reply's deltas to a session's `stream=1` sockets are gathered into one frame
# (the first goes at once; 0: one frame per delta). Family A's SSE stream is never gathered.
GAME_STREAM_COALESCE_SECONDS = float(os.environ.get("GAME_STREAM_COALESCE_SECONDS", 0.03))
# AI turns (model replies) one server process runs at once; past it a caller gets "busy" (503).
AI_TURNS_MAX_CONCURRENT = int(os.environ.get("AI_TURNS_MAX_CONCURRENT", 200))
# AI turns one user (else one client address) may start, over REST and sockets alike (model
# calls cost money), and the replies one conversation may have in progress at once.
AI_TURN_RATE = os.environ.get("AI_TURN_RATE", "30/min") or None
AI_TURNS_PER_CONVERSATION = int(os.environ.get("AI_TURNS_PER_CONVERSATION", 2))
