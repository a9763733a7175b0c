"""Settings for both run modes, read once from the environment.

With no environment set this is the embedded default: SQLite, in-memory channel layer,
local-memory cache, offline AI provider. `DATABASE_URL` and `REDIS_URL` switch to the
production shape (PostgreSQL, Redis cache and channel layer).
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.embedded import local_dir, may_generate_secret_key, read_secret_key, secret_key_path
from config.families import ASSISTANT, path_regex

BASE_DIR = Path(__file__).resolve().parent.parent.parent
LOCAL_DIR = local_dir()


def env_bool(name: str, default: bool = False) -> bool:
    """Read a boolean environment variable ("1", "true", "yes", "on" are true)."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    """Read a comma-separated environment variable."""
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
EMBEDDED = not DATABASE_URL and not REDIS_URL
# HTTPS=1: the deployment is behind TLS (see the HTTPS section below).
HTTPS = env_bool("HTTPS", False)
# What a production deployment looks like: defaults that are safe only on one's own machine
# (any origin for A's cookie, open diagnostics) are off here.
PRODUCTION_SHAPE = not EMBEDDED or HTTPS
DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    """Return SECRET_KEY: from the environment, else the key kept in LOCAL_DIR/secret_key.

    Settings only read the kept key: the entry points (manage.py, config/asgi.py) run
    `config.embedded.prepare()` before settings load, which generates it once in the
    embedded mode. The production shape needs SECRET_KEY.
    """
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if not may_generate_secret_key():
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DATABASE_URL or REDIS_URL is set (production shape)."
        )
    key = read_secret_key()
    if key is None:
        raise ImproperlyConfigured(
            f"No SECRET_KEY and no kept key at {secret_key_path()}: set SECRET_KEY, or start "
            "through manage.py or config.asgi (or run `python -m config.embedded` once), "
            "which keep a generated key there."
        )
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "channels",
    "accounts",
    "ai",
    "games",
    "characters",
    "chats",
    "projects",
    "media_library",
    "realtime",
    "django_tasks_db",
]

MIDDLEWARE = [
    # Outermost, so it counts the answer every other middleware made (config/metrics.py).
    "config.metrics.RequestMetricsMiddleware",
    # Served through config.asgi, Django's own middleware below runs as the hop-free
    # equivalents of config/middleware.py (FAST_EQUIVALENTS): the same answers, with API
    # requests kept on the event loop and sessions, CSRF, auth and messages run only for the
    # admin and the docs.
    "config.api.middleware.ApiErrorEnvelopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.static.AsyncWhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Sends the Content-Security-Policy of SECURE_CSP (empty, so no header, unless HTTPS=1).
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

if DATABASE_URL:
    # Under ASGI each request may run its sync code in a new thread, so persistent
    # per-thread connections would pile up; a psycopg pool shares a bounded set instead.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        from psycopg_pool import ConnectionPool

        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": int(os.environ.get("DB_POOL_MIN", 2)),
            "max_size": int(os.environ.get("DB_POOL_MAX", 20)),
            # How long a request waits for a connection before it is a 503 (database down).
            "timeout": float(os.environ.get("DB_POOL_TIMEOUT", 10)),
            # A connection that broke while idle (the database restarted) is replaced when it
            # is taken, so the server recovers on its own once the database is back.
            "check": ConnectionPool.check_connection,
        }
else:
    DATABASES = {
        "default": {
            # Django's SQLite backend that creates the file's directory when it connects.
            "ENGINE": "config.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(LOCAL_DIR / "db.sqlite3")),
            # IMMEDIATE takes the write lock at BEGIN, so counters bumped inside a
            # transaction (message sequence numbers) cannot interleave. WAL lets readers run
            # beside the writer.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "aistory"),
            # One connection pool per process for every request's cache handle and the rate
            # counters (core/redis_pool.py); stock RedisCache builds one per request under ASGI.
            "OPTIONS": {"pool_class": "core.redis_pool.SharedConnectionPool"},
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            # channels_redis with a pool that waits for a free connection instead of failing
            # (realtime/layers.py), so hundreds of sockets closing at once all leave their group.
            "BACKEND": "realtime.layers.PooledRedisChannelLayer",
            "CONFIG": {
                "pool_max_connections": int(os.environ.get("CHANNEL_POOL_MAX_CONNECTIONS", 100)),
                "pool_timeout": 20,
                # channels_redis blocks 5 s per poll of a consumer's channel; redis-py's
                # default 5 s read timeout would kill every socket idle that long.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
                "prefix": os.environ.get("CHANNEL_PREFIX", "aistory"),
                "capacity": 1000,
                "expiry": 30,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Only `collectstatic` writes here; the server needs no such directory (see below).
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
# Serve static files straight from the apps (admin, Swagger UI): no collectstatic step needed.
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", LOCAL_DIR / "media"))

# Request bodies: a body above this is refused with 413 in the family's envelope, counted
# while it is read, chunked or not (config/body_limit.py). Only an upload route takes more:
# the caller's tier file limit (MEDIA_UPLOAD_MAX_BYTES) times the files it takes, plus this.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", 4 * 1024 * 1024))
# Uploaded files above this many bytes are streamed to a temporary file, never held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("FILE_UPLOAD_MAX_MEMORY_SIZE", 256 * 1024))

# Background tasks (`django.tasks`): rows in the database, run by `manage.py media_worker`
# (`make run` starts it beside the server). A task claimed by a worker that died is put back
# in the queue after TASKS_STALE_AFTER_SECONDS (media_library/worker.py).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
TASKS_STALE_AFTER_SECONDS = int(os.environ.get("TASKS_STALE_AFTER_SECONDS", 900))

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

# LOG_FORMAT=json: one JSON object per line (config/logformat.py), with one line per request
# carrying its request id, family, route, status, duration, user and AI reply
# (config/requestlog.py) in place of uvicorn's access line. Plain text is the default.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower() or "text"
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logformat.JsonFormatter"},
    },
    # Query values that carry credentials (`?token=`) are redacted in every line.
    "filters": {"redact_credentials": {"()": "config.logredact.RedactCredentials"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["redact_credentials"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "aistory.request": {"level": "INFO" if LOG_FORMAT == "json" else "WARNING"},
    },
}

# Every view inherits exactly one family base class (config/api/); nothing is inherited by
# accident from global defaults.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.api.parsers.SafeJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "config.api.schema.FamilyAutoSchema",
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "config.api.errors.fallback_exception_handler",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=int(os.environ.get("JWT_ACCESS_MINUTES", 60))),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=int(os.environ.get("JWT_REFRESH_DAYS", 7))),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "UPDATE_LAST_LOGIN": True,
    # A refresh token works once: refreshing returns a new one and blacklists the old; an old
    # one coming back ends its login (accounts.services), and its access tokens with it.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "AUTH_TOKEN_CLASSES": ("accounts.tokens.LoginAccessToken",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "AI Story Server API",
    "DESCRIPTION": (
        "One server for four API families: G (game master), C (character chat), "
        "M (movie platform, /api/v1) and A (assistant chat). Each family answers errors "
        "in its own envelope."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CollaboratorRoleEnum": "projects.models.CollaboratorRole",
        "ProjectRoleEnum": ["owner", "collaborator", "viewer"],
        # The message role of G, A and C, which would otherwise collide with the above.
        "RoleEnum": ["system", "user", "assistant"],
    },
}

# CORS opens exactly family A's paths (config/families.py decides which those are).
CORS_URLS_REGEX = path_regex(ASSISTANT)

# --- Family A (assistant chat) --------------------------------------------------------------
# Origins whose pages may call A with the cookie (comma-separated, e.g.
# "https://app.example.com,http://localhost:3000"). "*" allows any, which is the embedded
# demo's default only: the production shape (DATABASE_URL, REDIS_URL or HTTPS set) allows no
# cross-origin credentialed call until origins are listed, and refuses to start with "*"
# unless ASSISTANT_CORS_ALLOW_ANY_ORIGIN=1 says the operator accepts that any website may then
# read, stream and delete its visitors' anonymous chats.
# A's CORS echoes an allowed Origin with credentials, never "*", which browsers refuse on
# credentialed requests; a cookie identity from any other Origin is refused (403).
ASSISTANT_CORS_ORIGINS = env_list("ASSISTANT_CORS_ORIGINS", [] if PRODUCTION_SHAPE else ["*"])
ASSISTANT_CORS_ALLOW_ANY_ORIGIN = env_bool("ASSISTANT_CORS_ALLOW_ANY_ORIGIN", False)
if PRODUCTION_SHAPE and "*" in ASSISTANT_CORS_ORIGINS and not ASSISTANT_CORS_ALLOW_ANY_ORIGIN:
    raise ImproperlyConfigured(
        "ASSISTANT_CORS_ORIGINS=* in the production shape lets any website read and delete its "
        "visitors' anonymous chats (the cookie is sent with credentials). List the front ends' "
        "origins, e.g. ASSISTANT_CORS_ORIGINS=https://app.example.com, or set "
        "ASSISTANT_CORS_ALLOW_ANY_ORIGIN=1 to accept that."
    )
CORS_ALLOW_ALL_ORIGINS = "*" in ASSISTANT_CORS_ORIGINS
CORS_ALLOWED_ORIGINS = [origin for origin in ASSISTANT_CORS_ORIGINS if origin != "*"]
CORS_ALLOW_CREDENTIALS = True
CORS_ALLOW_METHODS = ["GET", "POST", "PUT", "DELETE"]
CORS_ALLOW_HEADERS = ["content-type", "authorization"]
# The anonymous identity's session cookie (its own name, apart from the admin's sessionid).
ASSISTANT_SESSION_COOKIE_NAME = os.environ.get("ASSISTANT_SESSION_COOKIE_NAME", "chat-session")
ASSISTANT_SESSION_AGE = int(os.environ.get("ASSISTANT_SESSION_DAYS", 365)) * 24 * 60 * 60
# The task worker deletes expired sessions and the anonymous chats no identity can reach any
# more (chats.services.anonymous_identities_clear) at start and this often.
HOUSEKEEPING_EVERY_SECONDS = int(os.environ.get("HOUSEKEEPING_EVERY_SECONDS", 6 * 3600))
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

# --- Family G (game server) -----------------------------------------------------------------
# Off for the embedded demo; production sets GAME_REQUIRE_AUTH=1 to demand a token on every
# G route and make each user's sessions and characters private to them (games.access).
GAME_REQUIRE_AUTH = env_bool("GAME_REQUIRE_AUTH", False)
# The largest text a client may send as one message, in UTF-8 bytes (every family).
MESSAGE_MAX_BYTES = 32 * 1024
GAME_WS_FRAME_MAX_BYTES = 2 * 1024 * 1024
# The server's own limit on one incoming WebSocket message (`python -m config.serve`):
# larger ones are closed with 1009, for every socket.
WEBSOCKET_MAX_MESSAGE_BYTES = GAME_WS_FRAME_MAX_BYTES
# Arrays and objects nest at most this deep in a JSON body or frame (config/api/parsers.py).
JSON_MAX_DEPTH = int(os.environ.get("JSON_MAX_DEPTH", 64))
GAME_IMAGE_PROMPT_MAX_CHARS = 4000

# Per-family request rates (DRF rate strings); None switches a limit off.
# An empty variable (GAME_RATE=) switches that limit off.
THROTTLE_RATES = {
    "game": os.environ.get("GAME_RATE", "1200/min") or None,
    "assistant": os.environ.get("ASSISTANT_RATE", "1200/min") or None,
    "auth_login": os.environ.get("LOGIN_RATE", "20/min") or None,
}
# Login attempts (accounts.lockout, the API and the admin alike): one address is refused on
# one account, the right password included, past LOGIN_FAILURES_PER_ACCOUNT_ADDRESS; past the
# account's ceiling only addresses that have not failed on it, or that logged into it within
# LOGIN_KNOWN_ADDRESS_DAYS, are checked; past the address's ceiling, only accounts it knows.
LOGIN_FAILURES_PER_ACCOUNT_ADDRESS = (
    os.environ.get("LOGIN_FAILURES_PER_ACCOUNT_ADDRESS", "10/15min") or None
)
LOGIN_FAILURES_PER_ACCOUNT = os.environ.get("LOGIN_FAILURES_PER_ACCOUNT", "100/15min") or None
LOGIN_FAILURES_PER_ADDRESS = os.environ.get("LOGIN_FAILURES_PER_ADDRESS", "50/15min") or None
LOGIN_KNOWN_ADDRESS_DAYS = int(os.environ.get("LOGIN_KNOWN_ADDRESS_DAYS", 30))
AUTHENTICATION_BACKENDS = ["accounts.lockout.LockoutBackend"]

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
# the client address is the socket peer and X-Forwarded-For is ignored, since a client can
# write anything there.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", 0))
# Projects a user may own per tier (seed 003: the free tier allows 3); None is unlimited.
MOVIE_PROJECT_LIMITS = {"free": 3, "pro": None, "enterprise": None}

# --- Metrics and readiness (config/metrics.py, config/ready.py) -------------------------------
# /metrics answers only callers from these networks (CIDRs, comma-separated; the socket peer,
# or X-Forwarded-For as TRUSTED_PROXY_COUNT allows) or with `Authorization: Bearer
# <METRICS_TOKEN>`; anyone else gets 404.
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"])
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# An empty directory shared by the server's workers (and the task worker): each process writes
# its metrics there and /metrics adds them up. Clear it before each start. Unset: per process.
PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
# /api/ready gives each check (database, Redis, migrations) this long before it is "down".
READY_CHECK_TIMEOUT = float(os.environ.get("READY_CHECK_TIMEOUT", 3))

# --- HTTPS: one switch for a deployment behind TLS --------------------------------------------
# HTTPS=1 turns on the SSL redirect, HSTS, secure cookies and a Content Security Policy that
# the admin and Swagger UI (served with its init script as a file, not inline) work under.
# Behind a TLS-terminating proxy, TRUSTED_PROXY_COUNT > 0 also trusts its X-Forwarded-Proto.
if HTTPS:
    SECURE_SSL_REDIRECT = True
    # Load balancers probe over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^api/health$", r"^api/ready$", r"^metrics$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Joining the browsers' preload list is a one-way commitment for the whole domain; the
        # operator opts in with HSTS_PRELOAD=1, so its absence is not a deployment warning.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_SAMESITE = "Lax"
    CSRF_COOKIE_SAMESITE = "Lax"
    if TRUSTED_PROXY_COUNT > 0:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_CSP = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # Swagger UI and the admin set style attributes.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
    }

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
# One AI turn per chat session at a time; the lock expires after this long if its process died.
MOVIE_TURN_LOCK_SECONDS = int(os.environ.get("MOVIE_TURN_LOCK_SECONDS", 300))
# An active session idle this long reads as "paused" until its next line.
MOVIE_SESSION_IDLE_SECONDS = int(os.environ.get("MOVIE_SESSION_IDLE_SECONDS", 24 * 3600))
