"""What each API family allows: sizes, limits, sessions and sockets of G, C, M and A."""

import os

from config.settings.api import SIMPLE_JWT
from config.settings.environment import env_bool, env_list

# --- Media library (family M) ----------------------------------------------------------------
# Largest file per tier, in bytes (seed 003: 10 MB / 100 MB / 1 GB, binary units as the
# seed's sizeFormatted counts them).
MEDIA_UPLOAD_MAX_BYTES = {
    "free": int(os.environ.get("MEDIA_MAX_BYTES_FREE", 10 * 1024 * 1024)),
    "pro": int(os.environ.get("MEDIA_MAX_BYTES_PRO", 100 * 1024 * 1024)),
    "enterprise": int(os.environ.get("MEDIA_MAX_BYTES_ENTERPRISE", 1024 * 1024 * 1024)),
}
MEDIA_UPLOAD_MAX_FILES = int(os.environ.get("MEDIA_UPLOAD_MAX_FILES", 20))
# Lifetime of a signed downloadUrl / thumbnailUrl.
MEDIA_SIGNED_URL_SECONDS = int(os.environ.get("MEDIA_SIGNED_URL_SECONDS", 3600))
MEDIA_THUMBNAIL_PX = 256
# Send the thumbnail to the analysis model (task media_analysis) as an image: for a vision
# model. Off, the model describes the image from its pixel facts and the uploader's words.
MEDIA_ANALYSIS_SEND_IMAGE = env_bool("MEDIA_ANALYSIS_SEND_IMAGE", False)

# --- Family A (assistant chat) and C (character chat) -----------------------------------------
# The anonymous identity's session cookie (its own name, apart from the admin's sessionid).
ASSISTANT_SESSION_COOKIE_NAME = os.environ.get("ASSISTANT_SESSION_COOKIE_NAME", "chat-session")
ASSISTANT_SESSION_AGE = int(os.environ.get("ASSISTANT_SESSION_DAYS", 365)) * 24 * 60 * 60
# The task worker deletes expired sessions and the anonymous chats no identity can reach any
# more (chats.services.anonymous_identities_clear) at start and this often. The worker runs
# the jobs named here, so it imports no app (media_library/worker.py).
HOUSEKEEPING_EVERY_SECONDS = int(os.environ.get("HOUSEKEEPING_EVERY_SECONDS", 6 * 3600))
HOUSEKEEPING_JOBS = ("chats.services.anonymous_identities_clear",)
# Family C: the keys a character chat's state may hold, and the longest value.
CHAT_STATE_KEYS = tuple(
    env_list("CHAT_STATE_KEYS", ["胸部", "下体", "衣服", "姿势", "情绪", "环境"])
)
CHAT_STATE_VALUE_MAX_CHARS = 2000
# Models a streamed chat request may name (`model`); any other name is served by the default
# dialogue model, as CONTRACTS.md says. Comma-separated.
ASSISTANT_MODELS = tuple(env_list("ASSISTANT_MODELS", []))
# With Redis, a chat reply's events are kept this long so another process can resume it.
CHAT_REPLAY_TTL = int(os.environ.get("CHAT_REPLAY_TTL", 600))
CHAT_REPLAY_PREFIX = os.environ.get("CHAT_REPLAY_PREFIX", "aistory:turn")
# A comment line every this many seconds keeps proxies from closing a silent SSE stream.
SSE_KEEP_ALIVE_SECONDS = float(os.environ.get("SSE_KEEP_ALIVE_SECONDS", 15))
# On SIGTERM (a deploy), replies in flight have this many seconds to finish and be stored;
# past it they are stopped and stored as stopped (config/shutdown.py). The platform's kill
# timeout must exceed it by config.shutdown.STORE_MARGIN_SECONDS (5) or more.
SHUTDOWN_GRACE_SECONDS = float(os.environ.get("SHUTDOWN_GRACE_SECONDS", 30))

# Character cards (`POST /api/characters/import`): the largest card file, in bytes (413 past
# it; a caller without a token is held to DATA_UPLOAD_MAX_MEMORY_SIZE first, as on every
# upload route), the most pixels its image may declare, and the most PNG chunks it may have.
# A compressed text chunk is inflated up to CHARACTER_CARD_MAX_BYTES, never further.
CHARACTER_CARD_MAX_BYTES = int(os.environ.get("CHARACTER_CARD_MAX_BYTES", 8 * 1024 * 1024))
CHARACTER_CARD_MAX_PIXELS = int(os.environ.get("CHARACTER_CARD_MAX_PIXELS", 4096 * 4096))
CHARACTER_CARD_MAX_CHUNKS = int(os.environ.get("CHARACTER_CARD_MAX_CHUNKS", 10_000))

# --- Family G (game server) -----------------------------------------------------------------
# Off for the embedded demo; production sets GAME_REQUIRE_AUTH=1 to demand a token on every
# G route and make each user's sessions and characters private to them (games.access).
GAME_REQUIRE_AUTH = env_bool("GAME_REQUIRE_AUTH", False)
# The largest text a client may send as one message, in UTF-8 bytes (every family).
MESSAGE_MAX_BYTES = 32 * 1024
GAME_WS_FRAME_MAX_BYTES = 2 * 1024 * 1024
# The server's own limit on one incoming WebSocket message (`python -m config.serve_uvicorn`):
# larger ones are closed with 1009, for every socket.
WEBSOCKET_MAX_MESSAGE_BYTES = GAME_WS_FRAME_MAX_BYTES
# Arrays and objects nest at most this deep in a JSON body or frame (config/api/parsers.py).
JSON_MAX_DEPTH = int(os.environ.get("JSON_MAX_DEPTH", 64))
GAME_IMAGE_PROMPT_MAX_CHARS = 4000

# --- Family M (movie platform) --------------------------------------------------------------
# Requests per window per user and tier (seed 003: 100 / 1,000 / 10,000 an hour); callers
# without a valid token are counted per client address at the "anonymous" limit.
MOVIE_RATE_WINDOW = int(os.environ.get("MOVIE_RATE_WINDOW", 3600))
MOVIE_RATE_LIMITS = {
    "anonymous": int(os.environ.get("MOVIE_RATE_LIMIT_ANONYMOUS", 100)),
    "free": int(os.environ.get("MOVIE_RATE_LIMIT_FREE", 100)),
    "pro": int(os.environ.get("MOVIE_RATE_LIMIT_PRO", 1000)),
    "enterprise": int(os.environ.get("MOVIE_RATE_LIMIT_ENTERPRISE", 10000)),
}
# Reverse proxies in front of the server that append to X-Forwarded-For. 0 (the default):
# Projects a user may own per tier (seed 003: the free tier allows 3); None is unlimited.
MOVIE_PROJECT_LIMITS = {"free": 3, "pro": None, "enterprise": None}

# --- Realtime --------------------------------------------------------------------------------
WS_ALLOWED_ORIGINS = env_list("WS_ALLOWED_ORIGINS", ["*"])
# Seconds between an open token socket's checks that its right still stands (the account, the
# password, the project membership or session ownership: one query per socket and check); a
# socket also checks when its token expires. Never longer than an access token lives.
WS_RIGHTS_RECHECK_SECONDS = min(
    float(os.environ.get("WS_RIGHTS_RECHECK_SECONDS", 60)),
    SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds(),
)

# --- Workflow chat and movie socket (family M) ------------------------------------------------
# Concurrent /api/v1/websocket connections per user and tier (None: unlimited), counted across
# processes in the shared cache; a connection's slot expires this many seconds after its last
# heartbeat (a third of it), so a crashed process frees its users' slots on its own.
MOVIE_WS_MAX_CONNECTIONS = {
    "free": int(os.environ.get("MOVIE_WS_MAX_FREE", 5)),
    "pro": int(os.environ.get("MOVIE_WS_MAX_PRO", 20)),
    "enterprise": None,
}
MOVIE_WS_SLOT_SECONDS = int(os.environ.get("MOVIE_WS_SLOT_SECONDS", 90))
# The largest frame the movie socket takes, in bytes (seed 003 names none: the documented
# WebSocket frame limit of CONTRACTS.md, as on the game socket); larger ones get an error frame.
MOVIE_WS_FRAME_MAX_BYTES = 2 * 1024 * 1024
# An active session idle this long reads as "paused" until its next line.
MOVIE_SESSION_IDLE_SECONDS = int(os.environ.get("MOVIE_SESSION_IDLE_SECONDS", 24 * 3600))
