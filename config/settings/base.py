"""Settings for both run modes, read once from the environment.

With no environment set this is the embedded default: SQLite, in-memory channel layer,
local-memory cache, offline AI provider. `DATABASE_URL` and `REDIS_URL` switch to the
production shape (PostgreSQL, Redis cache and channel layer).

This module holds Django's own core (apps, middleware, templates, static files, uploads) and
gathers the rest, one module per concern, so `DJANGO_SETTINGS_MODULE=config.settings.base`
names them all:

- `environment`: the run mode, paths and the helpers that read the environment;
- `security`: the secret key, hosts, trusted proxies and the HTTPS switch;
- `stores`: the database, the cache and the channel layer;
- `api`: DRF, tokens, the schema, CORS, request rates and login lockout;
- `families`: what each API family allows (sizes, limits, sessions, sockets);
- `ai_provider`: the model per AI task and the limits on AI turns;
- `observability`: logging, metrics and readiness.
"""

import os
from pathlib import Path

from config.settings.ai_provider import *  # noqa: F403
from config.settings.api import *  # noqa: F403
from config.settings.environment import *  # noqa: F403
from config.settings.environment import BASE_DIR, LOCAL_DIR
from config.settings.families import *  # noqa: F403
from config.settings.observability import *  # noqa: F403
from config.settings.security import *  # noqa: F403
from config.settings.stores import *  # noqa: F403

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
    # The project's own app: its management commands and system checks (config/apps.py).
    "config",
]

MIDDLEWARE = [
    # Outermost, so it counts the answer every other middleware made (config/metrics.py).
    "config.metrics.RequestMetricsMiddleware",
    "config.api.middleware.ApiErrorEnvelopeMiddleware",
    # Django's middleware as async middleware (config/middleware.py): the same answers, with
    # API requests kept on the event loop and sessions, CSRF, auth and messages run only for
    # the admin and the docs.
    "config.middleware.SecurityMiddleware",
    "config.static.AsyncWhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "config.middleware.SessionMiddleware",
    "config.middleware.CommonMiddleware",
    "config.middleware.CsrfViewMiddleware",
    "config.middleware.AuthenticationMiddleware",
    "config.middleware.MessageMiddleware",
    "config.middleware.XFrameOptionsMiddleware",
    # Sends the Content-Security-Policy of SECURE_CSP (empty, so no header, unless HTTPS=1).
    "config.middleware.ContentSecurityPolicyMiddleware",
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

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

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
